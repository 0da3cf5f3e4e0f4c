import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffMs } from '../../src/dashboard/event-stream.ts';

describe('the pause before the stream is opened again', () => {
  it('doubles from about 1 s up to about 30 s, with a jitter of a fifth either way', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, random) => {
        const base = Math.min(30_000, 1000 * 2 ** (failures - 1));
        const pause = backoffMs(failures, random);
        assert.ok(pause >= Math.floor(base * 0.8) && pause <= Math.ceil(base * 1.2), `${failures}: ${pause}`);
      }),
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, 0.5)),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
  });
});
