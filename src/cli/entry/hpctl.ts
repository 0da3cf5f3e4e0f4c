#!/usr/bin/env node
// `hpctl`: the executable. The Node version is checked first, before the command is loaded.
import { refuseOldNode } from '../node-version.ts';

refuseOldNode('hpctl');
const [{ main }, { exitQuietlyOnClosedPipe }] = await Promise.all([import('../hpctl.ts'), import('../stdio.ts')]);
exitQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
