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
// docker-modem, bundled into the server, calls url.parse() for an Engine over TCP. Node warns about
// url.parse() (DEP0169) only for code outside node_modules, so once bundled every such server
// printed the warning at its first Engine request. This one warning is dropped, as Node drops it
// for the library unbundled (the server's own code calls the WHATWG URL API only). Every other
// warning is printed as before.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
  const options = rest[0];
  const code = typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
  if (code === 'DEP0169') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
};
// In the user's own cache folder rather than Node's default in the shared temporary folder, where
// another user of the machine could put code for the server (which holds tokens and keys) to load.
// A folder that cannot be made turns the cache off, nothing else.
nodeModule.enableCompileCache?.(join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'hydroplane', 'node-compile-cache'));
const { main } = await import('../server-command.ts');
await main();
