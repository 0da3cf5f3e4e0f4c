// The table's window of rows (src/dashboard/row-window.ts): for any row heights and any band, the
// window holds exactly the rows that meet the band, the spacers make up the rest of the height,
// and the rows' aria indexes count the header and the open histories' rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ariaRows, rowWindow, spacerHeights, viewBand } from '../../src/dashboard/row-window.ts';

const heights = fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 300 });
const band = fc
  .tuple(fc.integer({ min: -2000, max: 60_000 }), fc.integer({ min: 0, max: 5000 }))
  .map(([top, size]) => ({ top, bottom: top + size }));

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('rowWindow', () => {
  it('holds exactly the rows that meet the band', () => {
    fc.assert(
      fc.property(heights, band, (hs, { top, bottom }) => {
        const { start, end } = rowWindow(hs, top, bottom);
        assert.ok(0 <= start && start <= end && end <= hs.length, `${start}..${end} of ${hs.length}`);
        let y = 0;
        hs.forEach((h, i) => {
          const meets = y < bottom && y + h > top;
          assert.equal(i >= start && i < end, meets, `row ${i} at ${y}..${y + h}, band ${top}..${bottom}`);
          y += h;
        });
      }),
    );
  });

  it('is empty where the band misses the body: before it, or after its end', () => {
    assert.deepEqual(rowWindow([50, 50], -500, -10), { start: 0, end: 0 });
    assert.deepEqual(rowWindow([50, 50], 100, 400), { start: 2, end: 2 });
    assert.deepEqual(rowWindow([], 0, 900), { start: 0, end: 0 });
  });

  it('takes a row that the band only touches at its edge out', () => {
    // Rows at 0..50, 50..100, 100..150: the band 50..100 meets the second only.
    assert.deepEqual(rowWindow([50, 50, 50], 50, 100), { start: 1, end: 2 });
  });
});

describe('spacerHeights', () => {
  it('stand for the rows before and after the window, so that the body keeps its whole height', () => {
    fc.assert(
      fc.property(heights, band, (hs, { top, bottom }) => {
        const window = rowWindow(hs, top, bottom);
        const { before, after } = spacerHeights(hs, window);
        assert.equal(before, sum(hs.slice(0, window.start)));
        assert.equal(after, sum(hs.slice(window.end)));
        assert.equal(before + sum(hs.slice(window.start, window.end)) + after, sum(hs));
      }),
    );
  });
});

describe('viewBand', () => {
  it('is the part of the body in the viewport, widened by the margin', () => {
    // The body begins 300 px below the viewport's top: its first 600 px show in a 900 px viewport.
    assert.deepEqual(viewBand(300, 900, 0), { top: -300, bottom: 600 });
    // Scrolled 2,000 px into the body.
    assert.deepEqual(viewBand(-2000, 900, 100), { top: 1900, bottom: 3000 });
  });
});

describe('ariaRows', () => {
  it('counts the header, each row, and the row of each open history after its own', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (open) => {
        const { count, indexes } = ariaRows(open);
        assert.equal(count, 1 + open.length + open.filter(Boolean).length);
        assert.equal(indexes.length, open.length);
        // Every index from 2 to count is taken once: by a row, or by the history row after an open one.
        const taken = open.flatMap((isOpen, i) => (isOpen ? [indexes[i]!, indexes[i]! + 1] : [indexes[i]!]));
        assert.deepEqual(
          taken,
          Array.from({ length: count - 1 }, (_, i) => i + 2),
        );
      }),
    );
  });

  it("example: the second row's history open", () => {
    assert.deepEqual(ariaRows([false, true, false]), { count: 5, indexes: [2, 3, 5] });
  });
});
