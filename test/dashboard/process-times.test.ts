// The times that a list leaves out (src/dashboard/process-times.ts): which rendered rows are asked
// for, once per process and state, and the rows after the answers, which complete only the row of
// the same process in the same state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { lacksTimes, timesKey, timesToAsk, withTimes } from '../../src/dashboard/process-times.ts';

const STATUSES = ['STARTING', 'RUNNING', 'EXITED', 'FAILED'] as const;
const CREATED = ['2026-12-01T03:00:00.000Z', '2026-12-01T04:00:00.000Z'];

const row: fc.Arbitrary<ProcessInfo> = fc
  .record({
    name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    created: fc.constantFrom(...CREATED),
    status: fc.constantFrom(...STATUSES),
    started: fc.option(fc.constant('2026-12-01T05:00:00.000Z'), { nil: undefined }),
  })
  .map(({ name, created, status, started }) => {
    const p: ProcessInfo = { process_name: name, group: null, socket_addresses: [], created, status };
    if (started !== undefined && status !== 'STARTING') p.started = started;
    return p;
  });
/** Rows as a list has them: one per name. */
const rows = fc.uniqueArray(row, { selector: (p) => p.process_name, maxLength: 6 });

describe('timesToAsk', () => {
  it('asks, in the order given, for the rows without times whose state was not asked, and for no other', () => {
    fc.assert(
      fc.property(rows, fc.array(row, { maxLength: 6 }), (rendered, before) => {
        const asked = new Set(before.map(timesKey));
        const out = timesToAsk(rendered, asked);
        assert.deepEqual(
          out,
          rendered.filter((p) => out.includes(p)),
        );
        for (const p of rendered) {
          const wanted = p.started === undefined && p.status !== 'STARTING' && !asked.has(timesKey(p));
          assert.equal(out.includes(p), wanted, JSON.stringify(p));
        }
      }),
    );
  });

  it('asks again for a process whose state changed since it was asked', () => {
    const running: ProcessInfo = { process_name: 'a', group: null, socket_addresses: [], created: CREATED[0]!, status: 'RUNNING' };
    const asked = new Set([timesKey(running)]);
    assert.deepEqual(timesToAsk([running], asked), []);
    const exited: ProcessInfo = { ...running, status: 'EXITED' };
    assert.deepEqual(timesToAsk([exited], asked), [exited]);
  });

  it('does not ask for a row that an event gave its start, nor for one that is starting', () => {
    const started: ProcessInfo = {
      process_name: 'a',
      group: null,
      socket_addresses: [],
      created: CREATED[0]!,
      status: 'RUNNING',
      started: CREATED[0]!,
    };
    const starting: ProcessInfo = { process_name: 'b', group: null, socket_addresses: [], created: CREATED[0]!, status: 'STARTING' };
    assert.equal(lacksTimes(started), false);
    assert.equal(lacksTimes(starting), false);
    assert.deepEqual(timesToAsk([started, starting], new Set()), []);
  });
});

describe('withTimes', () => {
  const answerFor = (p: ProcessInfo, finished: boolean): ProcessInfo => {
    const a: ProcessInfo = { ...p, started: '2026-12-01T06:00:00.000Z' };
    if (finished) a.finished = '2026-12-01T06:30:00.000Z';
    return a;
  };

  it('completes exactly the rows of the same process in the same state that lack times; the others keep their objects', () => {
    fc.assert(
      fc.property(rows, fc.array(fc.tuple(row, fc.boolean()), { maxLength: 6 }), (list, answered) => {
        const answers = answered.map(([p, finished]) => answerFor(p, finished));
        const out = withTimes(list, answers);
        assert.equal(out.length, list.length);
        let changed = false;
        list.forEach((before, i) => {
          const after = out[i]!;
          const answer = answers.findLast((a) => timesKey(a) === timesKey(before));
          if (before.started !== undefined || answer === undefined) {
            assert.equal(after, before, 'an untouched row keeps its object');
            return;
          }
          changed = true;
          assert.deepEqual(after, { ...before, started: answer.started, ...(answer.finished ? { finished: answer.finished } : {}) });
        });
        if (!changed) assert.equal(out, list, 'the same array when no row was completed');
      }),
    );
  });

  it('leaves the row alone when the answer is of another state (it stopped meanwhile)', () => {
    const running: ProcessInfo = { process_name: 'a', group: null, socket_addresses: [], created: CREATED[0]!, status: 'RUNNING' };
    const list = [running];
    assert.equal(withTimes(list, [answerFor({ ...running, status: 'EXITED' }, true)]), list);
  });
});
