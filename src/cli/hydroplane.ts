#!/usr/bin/env node
// `hydroplane`: runs the REST server. Node's compile cache is turned on before anything else is
// loaded, so that every start after the first reuses the compiled code of the server and its
// libraries (about a quarter of a cold start); it lives in the OS temporary folder.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { main } = await import('./server-command.ts');
await main();
