// The table's window of rows (src/dashboard/row-window.ts): for any row heights and any band, the
// window holds exactly the rows that meet the band, the focused row stays in the page with its
// neighbours, the spacers make up the rest of the height, and the rows' aria indexes count the
// header and the open histories' rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ariaRows, bodyParts, renderedRows, rowWindow, viewBand } from '../../src/dashboard/row-window.ts';

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

describe('renderedRows', () => {
  const count = fc.integer({ min: 0, max: 300 });
  const window = fc.tuple(fc.nat(320), fc.nat(320)).map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) }));
  const focused = fc.option(fc.integer({ min: -5, max: 320 }), { nil: undefined });

  it("are the window's rows and the focused row with its neighbours, sorted, each once", () => {
    fc.assert(
      fc.property(count, window, focused, (n, w, f) => {
        const rows = renderedRows(w, f, n);
        const expected = new Set<number>();
        for (let i = w.start; i < Math.min(w.end, n); i++) expected.add(i);
        if (f !== undefined && f >= 0 && f < n) for (const i of [f - 1, f, f + 1]) if (i >= 0 && i < n) expected.add(i);
        assert.deepEqual(
          rows,
          [...expected].sort((a, b) => a - b),
        );
      }),
    );
  });

  it('example: a focused row far above the window keeps its neighbours', () => {
    assert.deepEqual(renderedRows({ start: 50, end: 53 }, 10, 100), [9, 10, 11, 50, 51, 52]);
    assert.deepEqual(renderedRows({ start: 50, end: 53 }, 0, 100), [0, 1, 50, 51, 52]);
    assert.deepEqual(renderedRows({ start: 50, end: 53 }, 99, 100), [50, 51, 52, 98, 99]);
    // The focused row at the window's edge: its neighbour outside comes in, nothing twice.
    assert.deepEqual(renderedRows({ start: 50, end: 53 }, 52, 100), [50, 51, 52, 53]);
    // A focused row that is no longer in the list (-1, or past the end) keeps nothing.
    assert.deepEqual(renderedRows({ start: 0, end: 2 }, -1, 100), [0, 1]);
  });
});

describe('bodyParts', () => {
  const rendered = (n: number) =>
    fc.uniqueArray(fc.nat(Math.max(0, n - 1)), { maxLength: Math.min(n, 40) }).map((rows) => (n === 0 ? [] : rows.sort((a, b) => a - b)));

  it('put each rendered row at the height it has in the whole table, and keep the whole height', () => {
    fc.assert(
      fc.property(
        heights.chain((hs) => fc.tuple(fc.constant(hs), rendered(hs.length))),
        ([hs, rows]) => {
          const parts = bodyParts(hs, rows);
          assert.deepEqual(
            parts.flatMap((p) => ('row' in p ? [p.row] : [])),
            rows,
          );
          let y = 0;
          parts.forEach((part, k) => {
            if ('row' in part) {
              assert.equal(y, sum(hs.slice(0, part.row)), `row ${part.row} at ${y}`);
              y += hs[part.row]!;
            } else {
              assert.ok(part.spacer > 0, `spacer ${k} of ${part.spacer} px`);
              assert.ok(!('spacer' in (parts[k + 1] ?? {})), `two spacers in a row at ${k}`);
              y += part.spacer;
            }
          });
          assert.equal(y, sum(hs));
        },
      ),
    );
  });

  it('example: a focused row above the window', () => {
    assert.deepEqual(bodyParts([10, 20, 30, 40, 50, 60], [1, 4]), [{ spacer: 10 }, { row: 1 }, { spacer: 70 }, { row: 4 }, { spacer: 60 }]);
    assert.deepEqual(bodyParts([10, 20], [0, 1]), [{ row: 0 }, { row: 1 }]);
    assert.deepEqual(bodyParts([10, 20], []), [{ spacer: 30 }]);
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
