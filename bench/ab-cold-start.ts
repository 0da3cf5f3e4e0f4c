// Cold start and idle RSS of two builds of the server, alternated: for the before/after numbers
// of a start-up change. `npm run bench` does not run it.
//   node bench/ab-cold-start.ts OTHER_CHECKOUT [runs=15]
// OTHER_CHECKOUT is a checkout with its own dist/ (git archive HEAD | tar -x -C /tmp/x; link
// node_modules; npm run build there); the other side is this checkout's dist/.
import { join, resolve } from 'node:path';
import { Bench, HYDROPLANE_BIN } from './lib/harness.ts';
import { median, percentile, sleep } from './lib/stats.ts';

const other = process.argv[2];
if (!other) {
  console.error('usage: node bench/ab-cold-start.ts OTHER_CHECKOUT [runs=15]');
  process.exit(2);
}
const runs = Number(process.argv[3] ?? 15);
const sides = [
  {
    label: resolve(other),
    bin: join(resolve(other), 'dist/cli/hydroplane.js'),
    ready: [] as number[],
    cpu: [] as number[],
    rss: [] as number[],
  },
  { label: 'this checkout', bin: HYDROPLANE_BIN, ready: [] as number[], cpu: [] as number[], rss: [] as number[] },
];
const bench = new Bench();
process.once('SIGINT', () => void bench.cleanup().finally(() => process.exit(130)));
try {
  await bench.init();
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const server = await bench.spawnServer({ bin: side.bin });
      side.ready.push(server.readyMs);
      side.cpu.push(server.readyCpuMs);
      await sleep(1000);
      side.rss.push(await server.rssMb());
      await server.stop();
    }
  }
  for (const side of sides) {
    console.log(
      `${side.label}: cold start median ${median(side.ready).toFixed(0)} ms (p10 ${percentile(side.ready, 10).toFixed(0)}, p90 ${percentile(side.ready, 90).toFixed(0)}); ` +
        `CPU time at the first answer median ${median(side.cpu).toFixed(0)} ms (p10 ${percentile(side.cpu, 10).toFixed(0)}, p90 ${percentile(side.cpu, 90).toFixed(0)}); ` +
        `idle RSS median ${median(side.rss).toFixed(1)} MB; ${runs} runs`,
    );
  }
} finally {
  await bench.cleanup();
}
