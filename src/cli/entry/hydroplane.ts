#!/usr/bin/env node
// `hydroplane`: runs the REST server. The Node version is checked first, before the bundle is
// loaded. Node's compile cache is turned on before the server is loaded, so that every start after
// the first reuses the compiled code of the server and its libraries (about a quarter of a cold
// start); it lives in the user's cache folder.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { refuseOldNode } from '../node-version.ts';

refuseOldNode('hydroplane');
// In the user's own cache folder rather than Node's default in the shared temporary folder, where
// another user of the machine could put code for the server (which holds tokens and keys) to load.
// A folder that cannot be made turns the cache off, nothing else.
nodeModule.enableCompileCache?.(join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'hydroplane', 'node-compile-cache'));
const { main } = await import('../server-command.ts');
await main();
