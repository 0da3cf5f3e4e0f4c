// What each library costs the server's start: import time and RSS, each alone in a fresh Node
// (so shared dependencies count in each), median of a few runs; then the server's own phases.
// For profiling the cold start and idle RSS targets; `npm run bench` does not run it.
//   node bench/startup-cost.ts [runs=5]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './lib/harness.ts';
import { median } from './lib/stats.ts';

const runs = Number(process.argv[2] ?? 5);
const LIBRARIES = [
  'fastify',
  'zod',
  'fastify-type-provider-zod',
  '@fastify/swagger',
  '@fastify/static',
  'pino',
  'yaml',
  'commander',
  'prom-client',
  'dockerode',
  'docker-modem',
  'ssh2',
  '@grpc/grpc-js',
];

const MEASURE = `
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1000;
const before = rss();
const t = performance.now();
import(process.argv[1]).then(() => console.log(JSON.stringify({ ms: performance.now() - t, rss: rss() - before, base: before })));
`;

function measure(specifier: string): { ms: number; rss: number; base: number } {
  const samples = Array.from({ length: runs }, () => {
    // A small young generation, so that its growth (in 16 MB steps) does not hide what the code costs.
    const out = execFileSync(process.execPath, ['--max-semi-space-size=1', '-e', MEASURE, specifier], { cwd: ROOT, encoding: 'utf8' });
    return JSON.parse(out) as { ms: number; rss: number; base: number };
  });
  return { ms: median(samples.map((s) => s.ms)), rss: median(samples.map((s) => s.rss)), base: median(samples.map((s) => s.base)) };
}

console.log(`import cost, each alone in a fresh Node ${process.version} (median of ${runs}):`);
console.log('   import ms   RSS +MB   library   (RSS with --max-semi-space-size=1)');
let base = 0;
for (const lib of LIBRARIES) {
  const m = measure(lib);
  base = m.base;
  console.log(`${m.ms.toFixed(1).padStart(12)} ${m.rss.toFixed(1).padStart(9)}   ${lib}`);
}
// The server's own code, unbundled from src/ (type stripping, no compile cache) and as built.
const all = measure(join(ROOT, 'src/server/start-server.ts'));
console.log(
  `${all.ms.toFixed(1).padStart(12)} ${all.rss.toFixed(1).padStart(9)}   src/server/start-server.ts, unbundled (everything the server imports before its runtime)`,
);
const docker = measure(join(ROOT, 'src/runtimes/docker/docker-runtime.ts'));
console.log(`${docker.ms.toFixed(1).padStart(12)} ${docker.rss.toFixed(1).padStart(9)}   src/runtimes/docker/docker-runtime.ts, unbundled`);
console.log(`(a bare Node's RSS before any import: ${base.toFixed(1)} MB)`);
