#!/usr/bin/env node
// `hpctl`: the executable. The Node version is checked first, before the command is loaded.
import { refuseOldNode } from '../node-version.ts';

refuseOldNode('hpctl');
const [{ main }, { handleOutputErrors }] = await Promise.all([import('../hpctl.ts'), import('../stdio.ts')]);
handleOutputErrors('hpctl');
process.exitCode = await main(process.argv.slice(2));
