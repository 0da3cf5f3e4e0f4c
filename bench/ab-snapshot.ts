// Would a V8 start-up snapshot shorten the server's cold start? Issue 17 asked for it to be
// measured. This bundles the server as one CommonJS builder script (bench/lib/snapshot-entry.ts:
// Node takes a single script, which may require only Node's own modules), builds blobs from it
// with `node --build-snapshot`, and times, alternated, spawn → first 200 on /health of:
// - bare Node (the same server as the cold-start row of `npm run bench`);
// - an empty snapshot (a builder script that does nothing): the cost of starting from a blob at all;
// - the server as built (dist/, with Node's compile cache warm);
// - the server from its snapshot, with and without V8's code cache in the blob.
//   node bench/ab-snapshot.ts [runs=11]
// The snapshot's server is a Docker-only server: the Kubernetes, AWS and Google clients, which a
// Docker server never loads, are left out of the bundle (a blob cannot load packages at run time).
// Node's http parser cannot be in a snapshot, so node:http, https and http2 are loaded at their
// first use (the shipped bundle loads http eagerly): the libraries that read http.STATUS_CODES and
// http.METHODS as they load get copies of those two tables.
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type Plugin } from 'rolldown';
import { Bench, type SpawnOptions } from './lib/harness.ts';
import { median, percentile, sleep } from './lib/stats.ts';
import { BARE_NODE } from './scenarios/server.ts';

const runs = Number(process.argv[2] ?? 11);
const require = createRequire(import.meta.url);
// In bench/ so that the server's paths relative to its own file (../../dist/dashboard) resolve to
// this checkout's dist/, as the built server's do.
const out = join(import.meta.dirname, '.snapshot');
const LEFT_OUT = ['@kubernetes/client-node', 'google-auth-library', '@aws-sdk/', '@smithy/', '@google-cloud/'];
const LAZY = ['http', 'https', 'http2'];
const PREFIX = '\0snapshot:';

/** Node's HTTP modules as Proxies that load the real one at the first read of anything else than http's two tables. */
const snapshotSafe: Plugin = {
  name: 'snapshot-safe',
  resolveId(id) {
    const name = id.replace(/^node:/, '');
    if (LAZY.includes(name)) return PREFIX + name;
    if (LEFT_OUT.some((p) => id === p || id.startsWith(p.endsWith('/') ? p : `${p}/`))) return `${PREFIX}left-out`;
    return null;
  },
  load(id) {
    if (!id.startsWith(PREFIX)) return null;
    const name = id.slice(PREFIX.length);
    if (name === 'left-out') return 'module.exports = {};\n';
    const real = require(`node:${name}`) as Record<string, unknown>;
    const tables = name === 'http' ? { STATUS_CODES: real['STATUS_CODES'], METHODS: real['METHODS'] } : {};
    return `const tables = ${JSON.stringify(tables)};
let loaded;
const load = () => (loaded ??= process.getBuiltinModule('node:${name}'));
module.exports = new Proxy({}, {
  get: (_, key) => (key in tables ? tables[key] : load()[key]),
  has: (_, key) => key in tables || key in load(),
  ownKeys: () => ${JSON.stringify(Object.keys(real))},
  getOwnPropertyDescriptor: (_, key) => ({ enumerable: true, configurable: true, get: () => load()[key] }),
});
`;
  },
};

async function buildBlob(builder: string, blob: string, withoutCodeCache: boolean): Promise<void> {
  const config = join(out, `${blob}.json`);
  await writeFile(config, JSON.stringify({ builder, withoutCodeCache }));
  await promisify(execFile)(process.execPath, ['--snapshot-blob', join(out, blob), '--build-snapshot-config', config]);
}

await rm(out, { recursive: true, force: true });
await mkdir(out);
const bench = new Bench();
try {
  await build({
    input: join(import.meta.dirname, 'lib/snapshot-entry.ts'),
    platform: 'node',
    logLevel: 'silent',
    plugins: [snapshotSafe],
    resolve: { alias: { ssh2: require.resolve('../build/no-ssh2.cjs'), glob: require.resolve('../build/no-glob.cjs') } },
    output: { file: join(out, 'server.cjs'), format: 'cjs', codeSplitting: false },
  });
  // Without a main function of its own, a start from the blob runs the command line's script.
  await writeFile(join(out, 'empty.cjs'), '// nothing: the cost of a start from a blob\n');
  await buildBlob(join(out, 'empty.cjs'), 'empty.blob', false);
  await buildBlob(join(out, 'server.cjs'), 'server.blob', false);
  await buildBlob(join(out, 'server.cjs'), 'server-no-code-cache.blob', true);
  const fromBlob = (blob: string): SpawnOptions => ({ nodeArgs: ['--snapshot-blob', join(out, blob)], bin: 'hydroplane' });
  const sides: { label: string; options: SpawnOptions; blob?: string; ready: number[]; rss: number[] }[] = [
    { label: 'bare Node', options: { command: BARE_NODE }, ready: [], rss: [] },
    {
      label: 'bare Node from an empty snapshot',
      options: { command: (port) => ['--snapshot-blob', join(out, 'empty.blob'), ...BARE_NODE(port)] },
      blob: 'empty.blob',
      ready: [],
      rss: [],
    },
    { label: 'Hydroplane (dist/)', options: {}, ready: [], rss: [] },
    { label: 'Hydroplane from a snapshot', options: fromBlob('server.blob'), blob: 'server.blob', ready: [], rss: [] },
    {
      label: 'Hydroplane from a snapshot without code cache',
      options: fromBlob('server-no-code-cache.blob'),
      blob: 'server-no-code-cache.blob',
      ready: [],
      rss: [],
    },
  ];
  await bench.init();
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const server = await bench.spawnServer(side.options);
      side.ready.push(server.readyMs);
      await sleep(500);
      side.rss.push(await server.rssMb());
      await server.stop();
    }
  }
  const bare = median(sides[0]!.ready);
  console.log(`| start | blob | cold start, median of ${runs} (p10-p90) | × bare Node | idle RSS |\n| --- | --- | --- | --- | --- |`);
  for (const side of sides) {
    const size = side.blob ? `${((await stat(join(out, side.blob))).size / 1e6).toFixed(1)} MB` : '—';
    const m = median(side.ready);
    console.log(
      `| ${side.label} | ${size} | ${m.toFixed(0)} ms (${percentile(side.ready, 10).toFixed(0)}-${percentile(side.ready, 90).toFixed(0)}) | ${(m / bare).toFixed(2)}× | ${median(side.rss).toFixed(1)} MB |`,
    );
  }
} finally {
  await bench.cleanup();
  if (!process.env['KEEP_SNAPSHOT']) await rm(out, { recursive: true, force: true });
}
