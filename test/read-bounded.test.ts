// readAtMost over generated chunkings: the bytes whole up to the bound, else nothing, and then the
// source is left at once (a device that never ends must not be read on).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readAtMost } from '../src/read-bounded.ts';

describe('readAtMost', () => {
  it('gives every byte up to the bound, nothing past it, and stops reading there', async () => {
    const chunk = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 20 }));
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 12 }), fc.nat(300), async (pieces, max) => {
        let pulled = 0;
        let closed = false;
        const source = {
          async *[Symbol.asyncIterator]() {
            try {
              for (const piece of pieces) {
                pulled++;
                yield piece;
              }
            } finally {
              closed = true;
            }
          },
        };
        // Text counts as its UTF-8 bytes.
        const bytes = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)));
        const whole = Buffer.concat(bytes);
        const read = await readAtMost(source, max);
        assert.ok(closed, 'the source is closed');
        if (whole.length <= max) {
          assert.deepEqual(read, whole);
          return;
        }
        assert.equal(read, undefined);
        // Pulled up to the piece that passed the bound, and not one more.
        let size = 0;
        let needed = 0;
        while (size <= max) size += bytes[needed++]!.length;
        assert.equal(pulled, needed);
      }),
      { numRuns: 300 },
    );
  });
});
