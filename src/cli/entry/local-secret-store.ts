#!/usr/bin/env node
// `local-secret-store`: the executable. The Node version is checked first, before the command is loaded.
import { refuseOldNode } from '../node-version.ts';

refuseOldNode('local-secret-store');
const [{ main }, { handleOutputErrors }] = await Promise.all([import('../local-secret-store.ts'), import('../stdio.ts')]);
handleOutputErrors('local-secret-store');
process.exitCode = await main(process.argv.slice(2));
