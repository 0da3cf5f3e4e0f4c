// The package's version; a bundled build carries it inline.
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
