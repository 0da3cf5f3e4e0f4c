#!/usr/bin/env node
// `hydroplane`: runs the REST server. The Node version is checked first, before the bundle is
// loaded. Node's compile cache is turned on before the server is loaded, so that every start after
// the first reuses the compiled code of the server and its libraries (about a quarter of a cold
// start); it lives in the OS temporary folder.
import * as nodeModule from 'node:module';
import { refuseOldNode } from '../node-version.ts';

refuseOldNode('hydroplane');
nodeModule.enableCompileCache?.();
const { main } = await import('../server-command.ts');
await main();
