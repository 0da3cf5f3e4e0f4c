// Copies Redoc's standalone bundle (one file, from the redoc dev dependency) into dist/redoc/,
// where the server serves it at /redoc: an installation without dev dependencies has it too.
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const from = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
const to = fileURLToPath(new URL('../dist/redoc/redoc.standalone.js', import.meta.url));
await mkdir(fileURLToPath(new URL('../dist/redoc/', import.meta.url)), { recursive: true });
await copyFile(from, to);
