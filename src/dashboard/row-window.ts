// Which rows of a long table to put in the page: those in (and near) the viewport, and the one that
// holds the focus, with the height of the others kept by spacers, so that the scrollbar stays true. Mounting
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

/**
 * The rows to put in the page: the window's, and the row that holds the keyboard focus with the
 * rows on either side of it, wherever the viewport is. A focused row scrolled far away (by the
 * mouse wheel, say) stays in the page, so the focus is not lost with it, and Tab and Shift+Tab from
 * it reach the rows next to it as they would in a whole table. Sorted, each once, all < count.
 */
export function renderedRows(window: RowWindow, focused: number | undefined, count: number): number[] {
  const end = Math.min(window.end, count);
  const rows: number[] = [];
  for (let i = Math.min(window.start, end); i < end; i++) rows.push(i);
  if (focused === undefined || focused < 0 || focused >= count) return rows;
  const kept = [focused - 1, focused, focused + 1].filter((i) => i >= 0 && i < count && (i < window.start || i >= end));
  return [...rows, ...kept].sort((a, b) => a - b);
}

/** A part of the table's body, top to bottom: a rendered row, or a spacer for the rows between. */
export type BodyPart = { row: number } | { spacer: number };

/**
 * The body for these rendered rows (sorted, each once): each row, and before, between and after
 * them a spacer as high as the rows it stands for, so that the body keeps its whole height.
 */
export function bodyParts(heights: readonly number[], rendered: readonly number[]): BodyPart[] {
  const parts: BodyPart[] = [];
  let next = 0;
  let gap = 0;
  const flush = () => {
    if (gap > 0) parts.push({ spacer: gap });
    gap = 0;
  };
  for (const row of rendered) {
    while (next < row) gap += heights[next++]!;
    flush();
    parts.push({ row });
    next = row + 1;
  }
  while (next < heights.length) gap += heights[next++]!;
  flush();
  return parts;
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
