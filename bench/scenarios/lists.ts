// Lists at growing numbers of processes: latency against one raw list call, Engine calls per
// list (through the counting proxy), and the server's RSS once it has listed the most.
import type { Context } from '../lib/context.ts';
import { describeCalls } from '../../test/support/engine-proxy.ts';
import { cv, median, pool, timed } from '../lib/stats.ts';
import { mb, ratioRow } from '../lib/table.ts';

export async function listsAtLevels(ctx: Context): Promise<void> {
  const { bench, sizes, server, counting } = ctx;
  const group = `${bench.prefix}list`;
  const ours: string[] = [];
  const calls: number[] = [];
  const seen: string[] = [];
  const levels = sizes.listLevels;
  const top = Math.max(...levels);
  let rssAfter = Number.NaN;
  for (const level of levels) {
    ctx.progress(`list at ${level} processes`);
    // The processes are made raw, with Hydroplane's labels: to Hydroplane they are its own.
    const missing = Array.from({ length: level - ours.length }, () => bench.spec(bench.name('l'), group));
    ours.push(...(await pool(missing, 8, (spec) => bench.rawStart(spec))));

    for (let i = 0; i < 2; i++) await Promise.all([server.client.list(), bench.rawList()]);
    const raw: number[] = [];
    const hp: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < sizes.listCalls; i++) {
      const sides = [
        async () => raw.push((await timed(() => bench.rawList())).ms),
        async () => {
          const { ms: t, value } = await timed(() => server.client.list());
          hp.push(t);
          counts.push(value.length);
        },
      ];
      if (i % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
    const others = median(counts) - level;
    seen.push(`${level}${others > 0 ? ` (+${others} not the bench's)` : ''}`);
    const row = ratioRow(
      `list at ${level} processes, p50 of ${sizes.listCalls} calls`,
      median(raw),
      median(hp),
      level === top ? 1.5 : undefined,
      Math.max(cv(raw), cv(hp)),
    );
    ctx.rows.push(level === top ? row : { ...row, target: '' });

    counting.proxy.reset();
    await counting.server.client.list();
    calls.push(counting.proxy.calls.length);
    if (level === top) rssAfter = await server.rssMb();
  }
  const constant = calls.every((c) => c === calls[0]);
  ctx.rows.push({
    scenario: `Docker Engine calls per list at ${levels.join(' / ')} processes`,
    raw: levels.map(() => '1').join(' / '),
    hydroplane: calls.join(' / '),
    target: 'constant in processes',
    verdict: constant ? 'met' : 'missed',
  });
  ctx.rows.push({ scenario: `server RSS after the ${top}-process lists`, raw: '—', hydroplane: mb(rssAfter), target: '', verdict: 'info' });
  ctx.notes.push(`processes listed at each level: ${seen.join(', ')}`);
  await bench.sweep();
}

/** Engine calls per request, through the counting proxy: where Hydroplane's extra work goes. */
export async function engineCallsPerVerb(ctx: Context): Promise<void> {
  const { bench, counting } = ctx;
  const { client } = counting.server;
  const { proxy } = counting;
  const describe = () => describeCalls(proxy.calls);
  const group = `${bench.prefix}calls`;
  const warm = bench.spec(bench.name('w'), group);
  await client.start(warm);
  await client.stop(warm.process_name);

  const one = bench.spec(bench.name('v'), group);
  proxy.reset();
  await client.start(one);
  const start = describe();
  proxy.reset();
  await client.stop(one.process_name);
  const stop = describe();
  for (const spec of [bench.spec(bench.name('v'), group), bench.spec(bench.name('v'), group)]) await client.start(spec);
  proxy.reset();
  await client.stopGroup(group);
  const groupStop = describe();
  ctx.notes.push(`Engine calls per request (counting proxy; the raw side makes 2 per start and 2 per stop):`);
  ctx.notes.push(`  start: ${start}`);
  ctx.notes.push(`  stop: ${stop}`);
  ctx.notes.push(`  group stop of 2: ${groupStop}`);
}
