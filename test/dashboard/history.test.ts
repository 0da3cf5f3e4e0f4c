import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProcessEvent } from '../../src/spec/process-event.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { HISTORY_LENGTH, entriesOf, recordEvent, recordList, type History } from '../../src/dashboard/history.ts';

const START = Date.parse('2026-12-01T03:00:00.000Z');
const iso = (ms: number) => new Date(START + ms).toISOString();

const event: fc.Arbitrary<ProcessEvent> = fc
  .record({
    type: fc.constantFrom('created', 'running', 'exited', 'failed', 'stopped', 'removed' as const),
    process_name: fc.constantFrom('web', 'api'),
    at: fc.integer({ min: 0, max: 3_600_000 }),
    exit_code: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  })
  .map(({ at, exit_code, ...e }) => ({
    ...e,
    group: null,
    time: iso(at),
    status: e.type === 'running' ? 'RUNNING' : e.type === 'created' ? 'STARTING' : e.type === 'removed' ? 'REMOVED' : 'EXITED',
    ...(exit_code === undefined || e.type === 'created' || e.type === 'running' ? {} : { exit_code }),
  }));

const listed = (name: string, p: Partial<ProcessInfo>): ProcessInfo => ({
  process_name: name,
  group: null,
  socket_addresses: [],
  created: iso(0),
  status: 'RUNNING',
  ...p,
});

describe('the history per process', () => {
  it('keeps the last entries of each process, in time order, whatever order the events come in', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        const history = events.reduce<History>(recordEvent, new Map());
        for (const [name, entries] of history) {
          assert.ok(entries.length <= HISTORY_LENGTH);
          const times = entries.map((e) => Date.parse(e.time));
          assert.deepEqual(
            times,
            [...times].sort((a, b) => a - b),
          );
          assert.ok(entries.length > 0);
          assert.ok(events.some((e) => e.process_name === name));
        }
      }),
    );
  });

  it('holds every event once when they are far apart, and an event given twice only once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { maxLength: 25 }), (slots) => {
        const events = slots.map((slot, i): ProcessEvent => ({
          type: (['created', 'running', 'exited'] as const)[i % 3]!,
          process_name: 'web',
          group: null,
          time: iso(slot * 5000),
          status: 'RUNNING',
          ...(i % 3 === 2 ? { exit_code: i } : {}),
        }));
        const once = events.reduce<History>(recordEvent, new Map());
        const twice = [...events, ...events].reduce<History>(recordEvent, new Map());
        assert.deepEqual(twice, once);
        const expected = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).slice(-HISTORY_LENGTH);
        assert.deepEqual(
          once.get('web') ?? [],
          expected.map((e) => ({ type: e.type, time: e.time, ...(e.exit_code === undefined ? {} : { exit_code: e.exit_code }) })),
        );
      }),
    );
  });

  it("adds what a list's times tell before the stream came, once, and the event's words win", () => {
    const p = listed('web', { started: iso(1000), finished: iso(60_000), status: 'EXITED', exit_code: 3 });
    const fromList = recordList(new Map(), [p]);
    assert.deepEqual(fromList.get('web'), [
      { type: 'created', time: iso(0) },
      { type: 'running', time: iso(1000) },
      { type: 'exited', time: iso(60_000), exit_code: 3 },
    ]);
    // The same list again changes nothing, not even the map's identity.
    assert.equal(recordList(fromList, [p]), fromList);
    // The event of the start, a moment apart from the list's time, is the same entry.
    const withEvent = recordEvent(fromList, { type: 'running', process_name: 'web', group: null, time: iso(1200), status: 'RUNNING' });
    assert.equal(withEvent, fromList);
    // Docker's stop after its die: one end, told as a stop, with the die's code.
    const stopped = recordEvent(fromList, { type: 'stopped', process_name: 'web', group: null, time: iso(60_300), status: 'EXITED' });
    assert.deepEqual(stopped.get('web')?.at(-1), { type: 'stopped', time: iso(60_000), exit_code: 3 });
  });

  it('forgets the processes that are no longer listed', () => {
    const history = recordList(new Map(), [listed('web', {}), listed('api', {})]);
    const after = recordList(history, [listed('api', {})]);
    assert.deepEqual([...after.keys()], ['api']);
    assert.equal(after.get('api'), history.get('api'));
  });

  it('tells a failure as failed, with its reason', () => {
    assert.deepEqual(entriesOf(listed('web', { started: iso(1), finished: iso(2), status: 'FAILED', reason: 'OOMKilled' })).at(-1), {
      type: 'failed',
      time: iso(2),
      reason: 'OOMKilled',
    });
  });
});
