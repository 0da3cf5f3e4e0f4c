// The server process itself: cold start and idle RSS (against a bare Node HTTP server), and a
// runtime that accepts connections but never answers.
import { join } from 'node:path';
import { build } from 'rolldown';
import { requiredBuiltins } from '../../build/required-builtins.ts';
import { ApiError } from '../../src/client.ts';
import { startSilentSocket } from '../../test/support/engine-proxy.ts';
import type { Context } from '../lib/context.ts';
import { cv, median, sleep, timed } from '../lib/stats.ts';
import { mb, ms, ratioRow } from '../lib/table.ts';

/** The floor: Node itself, answering /health with nothing else loaded. */
export const BARE_NODE = (port: number) => [
  '-e',
  `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end('{"status":"ok"}'); }).listen(${port}, '127.0.0.1')`,
];

/** bench/lib/fastify-floor.ts, bundled into the run's temp folder as the commands are (node:http without its facade, https and http2 lazily). */
async function bundleFastifyFloor(dir: string): Promise<string> {
  // .mjs: the temp folder has no package.json saying "type": "module", and Node would otherwise
  // parse the file twice (as CommonJS first), which costs it 7 MB.
  const file = join(dir, 'fastify-floor.mjs');
  await build({
    input: join(import.meta.dirname, '../lib/fastify-floor.ts'),
    platform: 'node',
    logLevel: 'silent',
    plugins: [requiredBuiltins],
    output: { file, format: 'esm' },
  });
  return file;
}

export async function coldStartAndRss(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const floor = await bundleFastifyFloor(bench.tmp);
  const ready = { raw: [] as number[], hp: [] as number[], floor: [] as number[] };
  const cpu = { raw: [] as number[], hp: [] as number[], floor: [] as number[] };
  const rss = { raw: [] as number[], hp: [] as number[], floor: [] as number[] };
  const side = (key: keyof typeof ready, options: Parameters<typeof bench.spawnServer>[0]) => async () => {
    const s = await bench.spawnServer(options);
    ready[key].push(s.readyMs);
    cpu[key].push(s.readyCpuMs);
    await sleep(1000);
    rss[key].push(await s.rssMb());
    await s.stop();
  };
  for (let i = 0; i < sizes.coldStarts; i++) {
    ctx.progress(`cold start ${i + 1}/${sizes.coldStarts}`);
    const sides = [side('raw', { command: BARE_NODE }), side('floor', { command: (port) => [floor, String(port)] }), side('hp', {})];
    if (i % 2 === 1) sides.reverse();
    for (const run of sides) await run();
  }
  const n = `median of ${sizes.coldStarts}`;
  const cold = ratioRow(
    `cold start: spawn → first 200 on /health (${n}; raw = bare Node)`,
    median(ready.raw),
    median(ready.hp),
    undefined,
    Math.max(cv(ready.raw), cv(ready.hp)),
  );
  ctx.rows.push({ ...cold, target: '≤ 300 ms', verdict: median(ready.hp) <= 300 ? 'met' : 'missed' });
  // The same starts' CPU time: what the start-up costs, whatever else the machine is running.
  ctx.rows.push(
    ratioRow(
      `cold start: CPU time of the server's threads at its first answer (${n}; raw = bare Node)`,
      median(cpu.raw),
      median(cpu.hp),
      undefined,
      Math.max(cv(cpu.raw), cv(cpu.hp)),
    ),
  );
  const idle = ratioRow(
    `server RSS idle, 1 s after the first answer (${n}; raw = bare Node)`,
    median(rss.raw),
    median(rss.hp),
    undefined,
    Math.max(cv(rss.raw), cv(rss.hp)),
    mb,
  );
  ctx.rows.push({ ...idle, target: '≤ 60 MB', verdict: median(rss.hp) <= 60 ? 'met' : 'missed' });
  const floorCold = ratioRow(
    `cold start of fastify alone, bundled, one route (${n}; raw = bare Node)`,
    median(ready.raw),
    median(ready.floor),
    undefined,
    Math.max(cv(ready.raw), cv(ready.floor)),
  );
  const floorIdle = ratioRow(
    `RSS idle of fastify alone, bundled, one route (${n}; raw = bare Node)`,
    median(rss.raw),
    median(rss.floor),
    undefined,
    Math.max(cv(rss.raw), cv(rss.floor)),
    mb,
  );
  const floorCpu = ratioRow(
    `CPU time of fastify alone at its first answer (${n}; raw = bare Node)`,
    median(cpu.raw),
    median(cpu.floor),
    undefined,
    Math.max(cv(cpu.raw), cv(cpu.floor)),
  );
  ctx.rows.push(floorCold, floorCpu, floorIdle);
  ctx.notes.push(
    `cold starts: Hydroplane ${ready.hp.map(ms).join(', ')}; fastify alone ${ready.floor.map(ms).join(', ')}; bare Node ${ready.raw.map(ms).join(', ')}`,
    `CPU time at the first answer: Hydroplane ${cpu.hp.map(ms).join(', ')}; fastify alone ${cpu.floor.map(ms).join(', ')}; bare Node ${cpu.raw.map(ms).join(', ')}`,
  );
}

interface Outcome {
  ms: number;
  status: number;
  code: string;
  details: string;
}

/** How a request ended; a server that never answers at all is given up on after `limitMs`. */
async function outcome(request: () => Promise<unknown>, limitMs: number): Promise<Outcome> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${limitMs} ms`)), limitMs)));
  try {
    await Promise.race([request(), giveUp]);
    return { ms: performance.now() - start, status: 200, code: '', details: '' };
  } catch (err) {
    const elapsed = performance.now() - start;
    if (err instanceof ApiError) {
      const body = err.body as { code?: string; details?: string } | null;
      return { ms: elapsed, status: err.status, code: body?.code ?? '', details: body?.details ?? '' };
    }
    return { ms: elapsed, status: 0, code: 'no answer', details: String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A second server whose docker_host is a socket that accepts and never answers. While a list and
 * a start hang on it: /health on that server, and /health and a list on the good server, must
 * answer as fast as at rest; the hung requests must end with a timeout error that says so.
 */
export async function hungRuntime(ctx: Context): Promise<void> {
  const { bench, sizes, server } = ctx;
  ctx.progress('a runtime that never answers');
  const silent = await startSilentSocket(join(bench.tmp, 'silent-engine.sock'));
  bench.onCleanup(() => silent.close());
  const timeout = sizes.hungTimeoutSeconds;
  const hung = await bench.spawnServer({
    runtime: {
      runtime_type: 'docker',
      docker_host: `unix://${silent.socketPath}`,
      network: bench.network,
      stop_grace_seconds: 0,
      request_timeout_seconds: timeout,
    },
  });

  const rest = { health: [] as number[], list: [] as number[], hungHealth: [] as number[] };
  for (let i = 0; i < 5; i++) {
    rest.health.push((await timed(() => server.client.request('GET', '/health'))).ms);
    rest.list.push((await timed(() => server.client.list())).ms);
    rest.hungHealth.push((await timed(() => hung.client.request('GET', '/health'))).ms);
  }

  const hangStart = performance.now();
  const limit = timeout * 1000 + 10_000;
  const hanging = Promise.all([
    outcome(() => hung.client.list(), limit),
    outcome(() => hung.client.start(bench.spec(bench.name('hang'))), limit),
  ]);
  let settledAt = Number.POSITIVE_INFINITY;
  void hanging.then(() => (settledAt = performance.now()));
  // Both requests must be stuck on the silent socket before the probes count.
  while (silent.accepted() < 2 && performance.now() - hangStart < 1000) await sleep(5);
  const during = { health: [] as number[], list: [] as number[], hungHealth: [] as number[] };
  let lastProbeEnd = 0;
  for (let i = 0; i < sizes.hungProbes; i++) {
    during.hungHealth.push((await timed(() => hung.client.request('GET', '/health'))).ms);
    during.health.push((await timed(() => server.client.request('GET', '/health'))).ms);
    during.list.push((await timed(() => server.client.list())).ms);
    lastProbeEnd = performance.now();
  }
  const [list, start] = await hanging;
  await hung.stop();
  await silent.close();

  // "Not delayed": as fast as at rest, give or take noise, and answered while the hang lasted.
  const notDelayed = (atRest: number[], probes: number[]) =>
    Math.max(...probes) <= Math.max(3 * median(atRest), median(atRest) + 50) && lastProbeEnd < settledAt;
  const row = (scenario: string, atRest: number[], probes: number[]) => ({
    ...ratioRow(scenario, median(atRest), Math.max(...probes), undefined, cv(atRest)),
    target: 'hung runtime delays no other request',
    verdict: notDelayed(atRest, probes) ? ('met' as const) : ('missed' as const),
  });
  const probes = `slowest of ${sizes.hungProbes} during the hang vs p50 at rest`;
  ctx.rows.push(row(`hung runtime: /health on the hung server (${probes})`, rest.hungHealth, during.hungHealth));
  ctx.rows.push(row(`hung runtime: /health on the good server (${probes})`, rest.health, during.health));
  ctx.rows.push(row(`hung runtime: list on the good server (${probes})`, rest.list, during.list));

  const clear = (o: Outcome) =>
    o.status === 504 &&
    o.code === 'runtime_timeout' &&
    /did not answer within/.test(o.details) &&
    o.ms >= timeout * 1000 - 50 &&
    o.ms < timeout * 1000 + 2000;
  const show = (what: string, o: Outcome) => `${what} ${o.status} ${o.code} after ${(o.ms / 1000).toFixed(2)} s`;
  ctx.rows.push({
    scenario: `hung runtime: the hung list and start end (request_timeout_seconds ${timeout})`,
    raw: '—',
    hydroplane: `${show('list', list)}; ${show('start', start)}`,
    target: 'a clear timeout error',
    verdict: clear(list) && clear(start) ? 'met' : 'missed',
  });
  ctx.notes.push(`hung runtime, the list's error: ${list.details || '(none)'}`);
}
