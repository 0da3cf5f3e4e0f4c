// Starts and stops: sequential starts, concurrent starts with the group stop that ends them, and a
// list sent in the middle of a burst of starts.
import type { ProcessSpecInput } from '../../src/spec/process-spec.ts';
import { freePort } from '../../test/support/net.ts';
import type { Context } from '../lib/context.ts';
import { cv, median, percentile, since, sleep, timed } from '../lib/stats.ts';
import { ms, ratioRow } from '../lib/table.ts';

const PORT_TAKEN = /port is already allocated|address already in use|port_in_use|host port/i;

/** One start with a fresh host port; a port that someone took meanwhile is retried, untimed. */
async function timedPortStart(
  ctx: Context,
  tag: string,
  group: string,
  start: (spec: ProcessSpecInput) => Promise<unknown>,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const spec = ctx.bench.spec(ctx.bench.name(tag), group, await freePort());
    try {
      return (await timed(() => start(spec))).ms;
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test((err as Error).message)) throw err;
      await ctx.bench.sweep();
    }
  }
}

/** N starts one after the other, each with one published port, raw and Hydroplane alternating call by call. */
export async function sequentialStarts(ctx: Context): Promise<void> {
  const { bench, sizes, server } = ctx;
  const raw: number[] = [];
  const hp: number[] = [];
  const rawP50s: number[] = [];
  const hpP50s: number[] = [];
  for (let rep = 0; rep < sizes.sequentialReps; rep++) {
    ctx.progress(`sequential starts, repetition ${rep + 1}/${sizes.sequentialReps}`);
    const group = `${bench.prefix}seq${rep}`;
    const r: number[] = [];
    const h: number[] = [];
    for (let i = 0; i < sizes.sequential; i++) {
      const sides = [
        async () => r.push(await timedPortStart(ctx, 'sr', group, (spec) => bench.rawStart(spec))),
        async () => h.push(await timedPortStart(ctx, 'sh', group, (spec) => server.client.start(spec))),
      ];
      if ((i + rep) % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
    raw.push(...r);
    hp.push(...h);
    rawP50s.push(median(r));
    hpP50s.push(median(h));
    await bench.sweep();
  }
  const noise = Math.max(cv(rawP50s), cv(hpP50s));
  const n = `${sizes.sequential} × ${sizes.sequentialReps}`;
  ctx.rows.push(ratioRow(`sequential start (1 port), p50 per call (${n})`, median(raw), median(hp), 1.03, noise));
  const p90 = ratioRow(`sequential start (1 port), p90 per call (${n})`, percentile(raw, 90), percentile(hp, 90), undefined, noise);
  ctx.rows.push({ ...p90, target: '(1.03× is judged on p50)' });
}

async function untilAllRunning(count: number, list: () => Promise<Array<{ running: boolean }>>): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const items = await list();
    if (items.length >= count && items.every((i) => i.running)) return;
    if (performance.now() > deadline) throw new Error(`${items.filter((i) => i.running).length} of ${count} processes RUNNING after 60 s`);
    await sleep(20);
  }
}

/**
 * N concurrent starts (no ports), until all answered and until a list shows all RUNNING; then the
 * group stop of those N against N concurrent raw stop+remove. Each side starts and stops its own
 * N with the other side's containers gone; the side that goes first alternates.
 */
export async function concurrentStartsAndGroupStop(ctx: Context): Promise<void> {
  const { bench, sizes, server } = ctx;
  const n = sizes.concurrent;
  const m = {
    rawAnswered: [] as number[],
    hpAnswered: [] as number[],
    rawRunning: [] as number[],
    hpRunning: [] as number[],
    rawStop: [] as number[],
    hpStop: [] as number[],
  };

  const rawSide = async (rep: number) => {
    const group = `${bench.prefix}c${rep}r`;
    const specs = Array.from({ length: n }, () => bench.spec(bench.name('cr'), group));
    const start = performance.now();
    const ids = await Promise.all(specs.map((spec) => bench.rawStart(spec)));
    m.rawAnswered.push(since(start));
    await untilAllRunning(n, async () => (await bench.rawList(group)).map((c) => ({ running: c.State === 'running' })));
    m.rawRunning.push(since(start));
    await sleep(500);
    m.rawStop.push((await timed(() => Promise.all(ids.map((id) => bench.rawStop(id))))).ms);
    if ((await bench.rawList(group)).length !== 0) throw new Error('raw stop left containers behind');
  };
  const hpSide = async (rep: number) => {
    const group = `${bench.prefix}c${rep}h`;
    const specs = Array.from({ length: n }, () => bench.spec(bench.name('ch'), group));
    const start = performance.now();
    await Promise.all(specs.map((spec) => server.client.start(spec)));
    m.hpAnswered.push(since(start));
    await untilAllRunning(n, async () => (await server.client.list(group)).map((p) => ({ running: p.status === 'RUNNING' })));
    m.hpRunning.push(since(start));
    await sleep(500);
    const { ms: stopMs, value } = await timed(() => server.client.stopGroup(group));
    m.hpStop.push(stopMs);
    if (value.stopped.length !== n) throw new Error(`the group stop stopped ${value.stopped.length} of ${n}`);
    if ((await bench.rawList(group)).length !== 0) throw new Error('the group stop left containers behind');
  };

  for (let rep = 0; rep < sizes.concurrentReps; rep++) {
    ctx.progress(`${n} concurrent starts and the group stop, repetition ${rep + 1}/${sizes.concurrentReps}`);
    const sides = rep % 2 === 0 ? [rawSide, hpSide] : [hpSide, rawSide];
    for (const side of sides) {
      await side(rep);
      await sleep(500);
    }
  }
  ctx.notes.push(
    `${n} concurrent starts, all answered, per repetition (raw first in the odd ones): raw ${m.rawAnswered.map(ms).join(', ')}; Hydroplane ${m.hpAnswered.map(ms).join(', ')}`,
  );
  const label = `× ${sizes.concurrentReps}, median`;
  const noise = (a: number[], b: number[]) => Math.max(cv(a), cv(b));
  ctx.rows.push(
    ratioRow(
      `${n} concurrent starts: all answered (${label})`,
      median(m.rawAnswered),
      median(m.hpAnswered),
      1.1,
      noise(m.rawAnswered, m.hpAnswered),
    ),
  );
  ctx.rows.push(
    ratioRow(
      `${n} concurrent starts: all RUNNING (${label})`,
      median(m.rawRunning),
      median(m.hpRunning),
      1.1,
      noise(m.rawRunning, m.hpRunning),
    ),
  );
  ctx.rows.push(
    ratioRow(
      `group stop of ${n} vs ${n} concurrent raw stop+remove (${label})`,
      median(m.rawStop),
      median(m.hpStop),
      1.1,
      noise(m.rawStop, m.hpStop),
    ),
  );
}

/**
 * A burst of N concurrent starts through Hydroplane; once a quarter of them have answered, a
 * Hydroplane list and a raw list are sent at the same moment.
 */
export async function listDuringBurst(ctx: Context): Promise<void> {
  const { bench, sizes, server } = ctx;
  const n = sizes.burst;
  const trigger = Math.max(1, Math.ceil(n / 4));
  const raw: number[] = [];
  const hp: number[] = [];
  const inFlight: number[] = [];
  for (let rep = 0; rep < sizes.burstReps; rep++) {
    ctx.progress(`list during a burst of ${n} starts, repetition ${rep + 1}/${sizes.burstReps}`);
    const group = `${bench.prefix}b${rep}`;
    let answered = 0;
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    const lists = fired.then(() => {
      inFlight.push(n - answered);
      return Promise.all([timed(() => server.client.list()), timed(() => bench.rawList())]);
    });
    const starts = Array.from({ length: n }, () => bench.spec(bench.name('b'), group)).map((spec) =>
      server.client.start(spec).then(() => {
        answered++;
        if (answered === trigger) fire();
      }),
    );
    const [[h, r]] = await Promise.all([lists, Promise.all(starts)]);
    hp.push(h.ms);
    raw.push(r.ms);
    await bench.sweep();
  }
  // Judged pair by pair: the Engine's own list time swings several-fold from one moment of a burst
  // to the next, and each pair shares its moment.
  const pairRatio = median(hp.map((h, i) => h / raw[i]!));
  const row = ratioRow(
    `list during a burst of ${n} starts vs a raw list sent with it (× ${sizes.burstReps}; ratio: median of pairs)`,
    median(raw),
    median(hp),
    2,
    Math.max(cv(raw), cv(hp)),
  );
  ctx.rows.push({ ...row, ratio: pairRatio, verdict: pairRatio <= 2 ? 'met' : 'missed' });
  ctx.notes.push(
    `list during a burst: sent when ${trigger} of ${n} starts had answered (${median(inFlight)} still in flight, median); ` +
      `Hydroplane list ${hp.map(ms).join(', ')}; raw list ${raw.map(ms).join(', ')}`,
  );
}
