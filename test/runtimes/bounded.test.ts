// settleBounded: what a group stop uses to keep the calls it sends at once bounded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { settleBounded } from '../../src/runtimes/bounded.ts';

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('settleBounded', () => {
  it('settles every item in order, as Promise.allSettled would, with at most limit in flight', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ delay: fc.nat(3), fails: fc.boolean() }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (items, limit) => {
          let inFlight = 0;
          let most = 0;
          const work = async (item: { delay: number; fails: boolean }, index: number) => {
            inFlight++;
            most = Math.max(most, inFlight);
            await tick(item.delay);
            inFlight--;
            if (item.fails) throw new Error(`item ${index}`);
            return index;
          };
          const indexed = items.map((item, index) => ({ item, index }));
          const bounded = await settleBounded(indexed, limit, ({ item, index }) => work(item, index));
          const all = await Promise.allSettled(indexed.map(({ item, index }) => work(item, index)));
          assert.deepEqual(bounded, all);
          assert.equal(inFlight, 0);
          // The bound is reached whenever there is that much work; never passed.
          let boundedMost = 0;
          inFlight = 0;
          await settleBounded(indexed, limit, async ({ item }) => {
            inFlight++;
            boundedMost = Math.max(boundedMost, inFlight);
            await tick(item.delay + 1);
            inFlight--;
          });
          assert.equal(boundedMost, Math.min(limit, items.length));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a limit that is not a whole number of at least 1', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN])
      await assert.rejects(
        settleBounded([1], limit, async (x) => x),
        RangeError,
      );
  });
});
