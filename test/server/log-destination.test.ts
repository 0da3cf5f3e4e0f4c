// The log's destination over generated sequences of what a write can meet: a partial write, a full
// disk (ENOSPC), a reader gone (EPIPE), a full pipe (EAGAIN) that empties or does not. Whatever
// comes, every line is written whole and in order or dropped whole, the server's thread is never
// held for long, and each loss is said once, with its count once writing works again. (Here a
// failure comes at a line's first write; one that comes after a partial write leaves the line cut.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { logDestination } from '../../src/server/log-destination.ts';

type Outcome = { kind: 'ok'; max: number } | { kind: 'fail'; code: 'ENOSPC' | 'EPIPE' | 'EIO' } | { kind: 'busy'; times: number };

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ kind: fc.constant('ok' as const), max: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('fail' as const), code: fc.constantFrom('ENOSPC' as const, 'EPIPE' as const, 'EIO' as const) }),
  fc.record({ kind: fc.constant('busy' as const), times: fc.integer({ min: 1, max: 3 }) }),
);

const failure = (code: string) => Object.assign(new Error(code), { code });

describe('the log destination', () => {
  it('writes each line whole and in order, or drops it whole, and says each loss once', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), outcome), { maxLength: 30 }), (steps) => {
        let written = Buffer.alloc(0);
        const said: string[] = [];
        let plan: Outcome = { kind: 'ok', max: 64 };
        let busyLeft = 0;
        const destination = logDestination({
          say: (line) => said.push(line),
          writeSync: (_fd, bytes) => {
            if (plan.kind === 'fail') throw failure(plan.code);
            if (plan.kind === 'busy' && busyLeft > 0) {
              busyLeft--;
              throw failure('EAGAIN');
            }
            const n = Math.min(bytes.length, plan.kind === 'ok' ? plan.max : bytes.length);
            written = Buffer.concat([written, bytes.subarray(0, n)]);
            return n;
          },
        });
        const expected: string[] = [];
        let lost = 0;
        const expectedSaid: string[] = [];
        for (const [text, step] of steps) {
          plan = step;
          busyLeft = step.kind === 'busy' ? step.times : 0;
          destination.write(`${text}\n`);
          if (step.kind === 'fail') {
            if (lost === 0) expectedSaid.push(`cannot write the log to standard output (${step.code})`);
            lost++;
          } else {
            if (lost > 0) expectedSaid.push(`the log is written again; ${lost} line${lost === 1 ? ' was' : 's were'} lost`);
            lost = 0;
            expected.push(`${text}\n`);
          }
        }
        assert.equal(written.toString(), expected.join(''));
        assert.equal(said.length, expectedSaid.length, said.join('\n'));
        said.forEach((line, i) => assert.ok(line.includes(expectedSaid[i]!), `${line} / ${expectedSaid[i]}`));
      }),
      { numRuns: 300 },
    );
  });

  it('drops a line after a second of a pipe that stays full, and goes on', () => {
    const said: string[] = [];
    let full = true;
    const destination = logDestination({
      say: (line) => said.push(line),
      writeSync: (_fd, bytes) => {
        if (full) throw failure('EAGAIN');
        return bytes.length;
      },
    });
    const started = performance.now();
    destination.write('stuck\n');
    const waited = performance.now() - started;
    assert.ok(waited >= 900 && waited < 10_000, `waited ${waited} ms`);
    assert.match(said[0]!, /cannot write the log to standard output \(EAGAIN\)/);
    full = false;
    destination.write('next\n');
    assert.match(said[1]!, /the log is written again; 1 line was lost/);
  });
});
