// Which rows of a long table to put in the page: those in (and near) the viewport, with the height
// of the others kept by one spacer above and one below, so that the scrollbar stays true. Mounting
// 1,000 rows took the page over half a second (issue 17); a window of a few dozen takes a few
// milliseconds. Also the rows' places for screen readers (aria-rowindex), which the DOM no longer
// tells. Pure: heights and positions in CSS pixels, from the table body's top.

/** Rows [start, end) of the table's body. */
export interface RowWindow {
  start: number;
  end: number;
}

/** The band of the body (from its top) that the viewport shows, widened by `margin` on both sides. */
export function viewBand(bodyTop: number, viewportHeight: number, margin: number): { top: number; bottom: number } {
  return { top: -bodyTop - margin, bottom: -bodyTop + viewportHeight + margin };
}

/**
 * The rows that meet the band [top, bottom): the first is the first row that ends below `top`, the
 * last the last that begins above `bottom`. Empty (start = end) when the band misses the body.
 */
export function rowWindow(heights: readonly number[], top: number, bottom: number): RowWindow {
  let start = 0;
  let y = 0;
  while (start < heights.length && y + heights[start]! <= top) y += heights[start++]!;
  let end = start;
  while (end < heights.length && y < bottom) y += heights[end++]!;
  return { start, end };
}

/** The heights of the spacers that stand for the rows before and after the window. */
export function spacerHeights(heights: readonly number[], window: RowWindow): { before: number; after: number } {
  let before = 0;
  let after = 0;
  heights.forEach((h, i) => {
    if (i < window.start) before += h;
    else if (i >= window.end) after += h;
  });
  return { before, after };
}

export function sameWindow(a: RowWindow, b: RowWindow): boolean {
  return a.start === b.start && a.end === b.end;
}

/**
 * The table's rows as screen readers count them (aria-rowcount, aria-rowindex from 1): the header
 * row, then each process's row followed by its history's row when that is open. `indexes[i]` is
 * the index of the i-th process's row; its history's row is the next.
 */
export function ariaRows(historyOpen: readonly boolean[]): { count: number; indexes: number[] } {
  const indexes: number[] = [];
  let next = 2;
  for (const open of historyOpen) {
    indexes.push(next);
    next += open ? 2 : 1;
  }
  return { count: next - 1, indexes };
}
