// The table's rows as events change them, against a model runtime: any sequence of lifecycle
// changes gives events and a list at every moment; the rows that a list and the events after it
// make must be what a fresh list shows then.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { applyEvents, asProcessEvent, mergeList, rowAfter, wantsList, type ProcessEvent } from '../../src/dashboard/process-rows.ts';

const NAMES = ['api', 'web', 'worker', 'db'] as const;

type Op =
  | { op: 'create'; name: string; group: string | null }
  | { op: 'start'; name: string }
  | { op: 'exit'; name: string; code: number }
  | { op: 'fail'; name: string; reason: string }
  | { op: 'stop'; name: string }
  | { op: 'remove'; name: string };

const name = fc.constantFrom(...NAMES);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), name, group: fc.constantFrom(null, 'site', 'batch') }),
  fc.record({ op: fc.constant('start' as const), name }),
  fc.record({ op: fc.constant('exit' as const), name, code: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('fail' as const), name, reason: fc.constantFrom('image not found', 'crash loop', 'OOMKilled') }),
  fc.record({ op: fc.constant('stop' as const), name }),
  fc.record({ op: fc.constant('remove' as const), name }),
);

/** A runtime as GET /process and GET /events see it: its list after each step, and the events of each step. */
function simulate(ops: Op[], steps: number[]): { lists: ProcessInfo[][]; events: ProcessEvent[][] } {
  const truth = new Map<string, ProcessInfo>();
  let clock = Date.parse('2026-12-01T03:00:00.000Z');
  const lists: ProcessInfo[][] = [[]];
  const events: ProcessEvent[][] = [];
  ops.forEach((o, i) => {
    clock += 1000 + (steps[i] ?? 0);
    const time = new Date(clock).toISOString();
    const now = truth.get(o.name);
    const out: ProcessEvent[] = [];
    const emit = (type: ProcessEvent['type'], info: ProcessInfo | undefined, extra: Partial<ProcessEvent> = {}) =>
      out.push({
        type,
        process_name: o.name,
        group: info?.group ?? now?.group ?? null,
        time,
        status: info?.status ?? 'REMOVED',
        ...extra,
      });
    const ended = now !== undefined && (now.status === 'EXITED' || now.status === 'FAILED');
    if (o.op === 'create' && now === undefined) {
      const info: ProcessInfo = {
        process_name: o.name,
        group: o.group,
        socket_addresses: [{ host: '127.0.0.1', port: 8000 + NAMES.indexOf(o.name as (typeof NAMES)[number]), is_public: false }],
        created: time,
        status: 'STARTING',
        image: `img-${o.name}`,
      };
      truth.set(o.name, info);
      emit('created', info);
    } else if (o.op === 'start' && now?.status === 'STARTING') {
      const info: ProcessInfo = { ...now, status: 'RUNNING', started: time };
      truth.set(o.name, info);
      emit('running', info);
    } else if (o.op === 'exit' && now?.status === 'RUNNING') {
      const info: ProcessInfo = { ...now, status: 'EXITED', exit_code: o.code, finished: time };
      truth.set(o.name, info);
      emit('exited', info, { exit_code: o.code });
    } else if (o.op === 'fail' && (now?.status === 'STARTING' || now?.status === 'RUNNING')) {
      const info: ProcessInfo = { ...now, status: 'FAILED', reason: o.reason };
      if (now.started !== undefined) info.finished = time;
      truth.set(o.name, info);
      emit('failed', info, { reason: o.reason });
    } else if (o.op === 'stop' && now !== undefined) {
      // Stopping a running process ends it with the code of its signal; an ended one only hears of it.
      const info: ProcessInfo = ended ? { ...now, status: now.status } : { ...now, status: 'EXITED', exit_code: 143 };
      if (!ended && now.started !== undefined) info.finished = time;
      truth.set(o.name, info);
      emit('stopped', info, ended ? {} : { exit_code: 143 });
    } else if (o.op === 'remove' && now !== undefined) {
      truth.delete(o.name);
      emit('removed', undefined);
    }
    events.push(out);
    lists.push([...truth.values()].sort((a, b) => (a.process_name < b.process_name ? -1 : 1)));
  });
  return { lists, events };
}

/** What a list says without what only the list can say (the addresses, the image): what the events must make right. */
const eventFields = (rows: readonly ProcessInfo[]) => rows.map(({ socket_addresses: _a, image: _i, ...rest }) => rest);

/** A list as Docker's is: no start and end times (one Engine call). */
const withoutTimes = (rows: readonly ProcessInfo[]) => rows.map(({ started: _s, finished: _f, ...rest }) => rest as ProcessInfo);

const scenario = fc.array(op, { maxLength: 40 }).chain((ops) =>
  fc.record({
    ops: fc.constant(ops),
    steps: fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: ops.length, maxLength: ops.length }),
    from: fc.nat({ max: ops.length }),
  }),
);

describe('the rows after events', () => {
  it('a list and then the events after it give what a fresh list shows, for any lifecycle', () => {
    fc.assert(
      fc.property(scenario, ({ ops, steps, from }) => {
        const { lists, events } = simulate(ops, steps);
        const later = events.slice(from).flat();
        const rows = applyEvents(mergeList([], lists[from]!), later);
        const fresh = lists.at(-1)!;
        assert.deepEqual(eventFields(rows), eventFields(fresh));
        // A process that the events did not re-create keeps what only the list says.
        const recreated = new Set(later.filter((e) => e.type === 'created').map((e) => e.process_name));
        for (const row of rows) {
          if (recreated.has(row.process_name)) continue;
          assert.deepEqual(
            row,
            fresh.find((p) => p.process_name === row.process_name),
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('from a list without times (Docker), status, exit code and reason still follow the events', () => {
    fc.assert(
      fc.property(scenario, ({ ops, steps, from }) => {
        const { lists, events } = simulate(ops, steps);
        const rows = applyEvents(mergeList([], withoutTimes(lists[from]!)), events.slice(from).flat());
        const pick = (r: readonly ProcessInfo[]) => r.map((p) => [p.process_name, p.group, p.status, p.exit_code, p.reason]);
        assert.deepEqual(pick(rows), pick(lists.at(-1)!));
      }),
      { numRuns: 300 },
    );
  });

  it('events that the list already holds change nothing (a resumed stream replays them)', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ ops, steps, from }, back) => {
        const { lists, events } = simulate(ops, steps);
        const list = mergeList([], lists[from]!);
        const replayed = events.slice(Math.max(0, from - (back % 6)), from).flat();
        // Of the processes that exist at the end of the replay, i.e. the list's.
        const rows = applyEvents(
          list,
          replayed.filter((e) => list.some((p) => p.process_name === e.process_name)),
        );
        assert.equal(rows, list);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the object of every row that an event does not change, and of the whole list when none does', () => {
    fc.assert(
      fc.property(scenario, ({ ops, steps, from }) => {
        const { lists, events } = simulate(ops, steps);
        const before = mergeList([], lists[from]!);
        const later = events.slice(from).flat();
        const after = applyEvents(before, later);
        const touched = new Set(later.map((e) => e.process_name));
        for (const row of after)
          if (!touched.has(row.process_name))
            assert.equal(
              row,
              before.find((p) => p.process_name === row.process_name),
            );
        if (later.length === 0) assert.equal(after, before);
      }),
      { numRuns: 200 },
    );
  });

  it('a list merged into the rows keeps the rows it does not change, and the times that events gave and the list leaves out', () => {
    fc.assert(
      fc.property(scenario, ({ ops, steps, from }) => {
        const { lists, events } = simulate(ops, steps);
        const rows = applyEvents(mergeList([], lists[from]!), events.slice(from).flat());
        const fresh = lists.at(-1)!;
        // The same list again: every row is the same object.
        const again = mergeList(rows, fresh);
        const same = mergeList(again, fresh);
        same.forEach((row, i) => assert.equal(row, again[i]));
        // Docker's list, without times: the rows keep the times they had.
        assert.deepEqual(mergeList(again, withoutTimes(fresh)), again);
      }),
      { numRuns: 200 },
    );
  });

  it('asks for the list when a process appears or starts, not when it ends or goes', () => {
    const event = (type: ProcessEvent['type'], status: ProcessEvent['status']): ProcessEvent => ({
      type,
      process_name: 'web',
      group: null,
      time: '2026-12-01T03:00:00Z',
      status,
    });
    const row: ProcessInfo = { process_name: 'web', group: null, socket_addresses: [], created: '2026-12-01T02:00:00Z', status: 'RUNNING' };
    assert.equal(wantsList([row], event('created', 'STARTING')), true);
    assert.equal(wantsList([row], event('running', 'RUNNING')), true);
    assert.equal(wantsList([row], event('exited', 'EXITED')), false);
    assert.equal(wantsList([row], event('removed', 'REMOVED')), false);
    // A process the page has not seen: the list has the rest of it.
    assert.equal(wantsList([], event('exited', 'EXITED')), true);
    assert.equal(wantsList([], event('removed', 'REMOVED')), false);
  });

  it('a stop after an exit keeps the exit code (Docker says die, then stop)', () => {
    const row: ProcessInfo = {
      process_name: 'web',
      group: null,
      socket_addresses: [],
      created: '2026-12-01T02:00:00Z',
      status: 'RUNNING',
      started: '2026-12-01T02:00:01Z',
    };
    const base = { process_name: 'web', group: null } as const;
    const exited = rowAfter(row, { ...base, type: 'exited', time: '2026-12-01T02:10:00Z', status: 'EXITED', exit_code: 3 })!;
    const stopped = rowAfter(exited, { ...base, type: 'stopped', time: '2026-12-01T02:10:00.5Z', status: 'EXITED' })!;
    assert.equal(stopped.exit_code, 3);
    assert.equal(stopped.finished, '2026-12-01T02:10:00Z');
  });
});

describe('an event in the stream', () => {
  it('is read when it has the shape of a ProcessEvent, and refused otherwise', () => {
    const good = { type: 'exited', process_name: 'web', group: null, time: '2026-12-01T03:00:00Z', status: 'EXITED', exit_code: 3 };
    assert.deepEqual(asProcessEvent(JSON.stringify(good)), good);
    assert.deepEqual(asProcessEvent(JSON.stringify({ ...good, extra: 1, reason: 'OOMKilled' })), { ...good, reason: 'OOMKilled' });
    for (const bad of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...good, type: 'paused' }),
      JSON.stringify({ ...good, status: 'RESTARTING' }),
      JSON.stringify({ ...good, process_name: '' }),
      JSON.stringify({ ...good, time: 'yesterday' }),
      JSON.stringify({ ...good, group: 3 }),
    ])
      assert.equal(asProcessEvent(bad), undefined, bad);
  });
});
