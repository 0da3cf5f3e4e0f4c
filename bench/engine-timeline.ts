// Where the time of N concurrent starts goes, Engine call by Engine call: the raw side (dockerode)
// and a Hydroplane server both go through the timing proxy, and each call's latency is summarised
// by kind. For profiling a missed target; `npm run bench` does not run it.
//   node bench/engine-timeline.ts [N=50] [repetitions=2] [--stop] [--urls]
// --stop: the group stop too; --urls: one URL of each kind, as sent.
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { callKind, startEngineProxy, type EngineCall } from '../test/support/engine-proxy.ts';
import { Bench } from './lib/harness.ts';
import { median, percentile, since, sleep } from './lib/stats.ts';

const [n = 50, reps = 2] = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--'))
  .map(Number);
const withStop = process.argv.includes('--stop');
const showUrls = process.argv.includes('--urls');
const bench = new Bench();
process.once('SIGINT', () => void bench.cleanup().finally(() => process.exit(130)));

function summary(label: string, wallMs: number, calls: readonly EngineCall[]): void {
  const t0 = Math.min(...calls.map((c) => c.start));
  const byKind = new Map<string, EngineCall[]>();
  for (const c of calls) byKind.set(callKind(c), [...(byKind.get(callKind(c)) ?? []), c]);
  console.log(`\n${label}: ${wallMs.toFixed(0)} ms wall, ${calls.length} Engine calls`);
  console.log('  calls  p50 ms  p90 ms  max ms  first sent  last ended   kind');
  for (const [kind, list] of byKind) {
    const ms = list.map((c) => c.end - c.start);
    const first = Math.min(...list.map((c) => c.start)) - t0;
    const last = Math.max(...list.map((c) => c.end)) - t0;
    console.log(
      `  ${String(list.length).padStart(5)} ${median(ms).toFixed(1).padStart(7)} ${percentile(ms, 90).toFixed(1).padStart(7)} ${Math.max(
        ...ms,
      )
        .toFixed(1)
        .padStart(7)} ` + `${first.toFixed(0).padStart(11)} ${last.toFixed(0).padStart(11)}   ${kind}`,
    );
    if (showUrls) console.log(`${' '.repeat(58)}e.g. ${list[0]!.url.slice(0, 200)}`);
  }
  // How many calls the Engine had in flight, on average over the wall time.
  const busy = calls.reduce((a, c) => a + (c.end - c.start), 0) / wallMs;
  console.log(`  mean Engine calls in flight: ${busy.toFixed(1)}`);
}

try {
  await bench.init();
  const proxy = await startEngineProxy(join(bench.tmp, 'timeline.sock'));
  bench.onCleanup(() => proxy.close());
  const raw = new Dockerode({ socketPath: proxy.socketPath });
  const server = await bench.spawnServer({
    runtime: { runtime_type: 'docker', docker_host: `unix://${proxy.socketPath}`, network: bench.network, stop_grace_seconds: 0 },
  });
  const warm = bench.spec(bench.name('w'));
  await server.client.start(warm);
  await server.client.stop(warm.process_name);

  for (let rep = 0; rep < reps; rep++) {
    const sides: Array<[string, () => Promise<void>]> = [
      [
        'raw dockerode',
        async () => {
          const group = `${bench.prefix}r${rep}`;
          const specs = Array.from({ length: n }, () => bench.spec(bench.name('r'), group));
          proxy.reset();
          const start = performance.now();
          const ids = await Promise.all(
            specs.map(async (spec) => {
              const c = await raw.createContainer(bench.createOptions(spec));
              await c.start();
              return c.id;
            }),
          );
          summary(`raw, ${n} concurrent starts (repetition ${rep + 1})`, since(start), proxy.calls);
          await sleep(500);
          proxy.reset();
          const stopStart = performance.now();
          await Promise.all(
            ids.map(async (id) => (await raw.getContainer(id).stop({ t: 0 }), raw.getContainer(id).remove({ force: true, v: true }))),
          );
          if (withStop) summary(`raw, ${n} concurrent stop+remove`, since(stopStart), proxy.calls);
        },
      ],
      [
        'hydroplane',
        async () => {
          const group = `${bench.prefix}h${rep}`;
          const specs = Array.from({ length: n }, () => bench.spec(bench.name('h'), group));
          proxy.reset();
          const start = performance.now();
          await Promise.all(specs.map((spec) => server.client.start(spec)));
          summary(`Hydroplane, ${n} concurrent starts (repetition ${rep + 1})`, since(start), proxy.calls);
          await sleep(500);
          proxy.reset();
          const stopStart = performance.now();
          await server.client.stopGroup(group);
          if (withStop) summary(`Hydroplane, group stop of ${n}`, since(stopStart), proxy.calls);
        },
      ],
    ];
    if (rep % 2 === 1) sides.reverse();
    for (const [, side] of sides) {
      await side();
      await sleep(500);
    }
  }
} finally {
  await bench.cleanup();
}
