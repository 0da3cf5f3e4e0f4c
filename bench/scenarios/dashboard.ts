// The dashboard with many rows (issue 17: 1,000, first render and each refresh under 200 ms), in
// Debian's Chromium through playwright-core, against the server that holds them, with the page held
// to its polling fallback (each refresh a whole list). The page's own
// clock times each list: from the list's answer arriving (fetch resolved) to the first frame after
// the page changed (a MutationObserver, then requestAnimationFrame and a task: the commit laid out
// and painted), and long tasks (over 50 ms of the main thread) are collected beside. The table
// renders only the rows in and near the viewport; a list's rows count as shown when the table says
// it holds them all (data-rows), and the rows in the page are counted beside.
import { existsSync } from 'node:fs';
import { CHROMIUM, launchChromium } from '../../test/support/browser.ts';
import type { Context } from '../lib/context.ts';
import type { ServerChild } from '../lib/harness.ts';
import { median, sleep } from '../lib/stats.ts';
import { ms } from '../lib/table.ts';

/** What the page records of each list it loads, on its own clock (ms since navigation). */
interface ListTiming {
  received: number;
  painted?: number;
  /** The rows that the table holds (its data-rows). */
  rows?: number;
  /** The rows in the page (the rendered window). */
  rendered?: number;
}

interface PageRecord {
  lists: ListTiming[];
  longTasks: Array<{ start: number; duration: number }>;
}

/**
 * Installed before the page's own scripts: wraps fetch to time each GET /process, and collects long
 * tasks. Page code, hence a string (the project's TypeScript has no DOM types outside the dashboard).
 */
const INSTRUMENT = `(() => {
  const record = { lists: [], longTasks: [] };
  window.__hpBench = record;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) record.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, location.href);
    if (url.pathname === '/process' && ((init && init.method) || 'GET') === 'GET' && response.ok) {
      const timing = { received: performance.now() };
      record.lists.push(timing);
      const observer = new MutationObserver(() => {
        observer.disconnect();
        requestAnimationFrame(() =>
          setTimeout(() => {
            timing.painted = performance.now();
            timing.rows = Number(document.querySelector('table.processes')?.dataset.rows ?? 0);
            timing.rendered = document.querySelectorAll('tr[data-process]').length;
          }),
        );
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    }
    return response;
  };
})();`;

/** What the scenario uses of a bench run: bench/dashboard-fake.ts runs it without an Engine. */
export type DashboardContext = Pick<Context, 'rows' | 'notes' | 'progress'> & { bench: Pick<Context['bench'], 'onCleanup'> };

export async function dashboardAtScale(ctx: DashboardContext, server: Pick<ServerChild, 'url'>, count: number): Promise<void> {
  const label = `dashboard with ${count} rows`;
  if (!existsSync(CHROMIUM)) {
    ctx.rows.push({ scenario: `${label}: not measured`, raw: '—', hydroplane: `no Chromium at ${CHROMIUM}`, target: '', verdict: 'info' });
    return;
  }
  ctx.progress(`${label}: first render and refreshes in Chromium`);
  const browser = await launchChromium();
  ctx.bench.onCleanup(() => browser.close());
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript({ content: INSTRUMENT });
    // The page follows GET /events and reads the list only when the stream opens or a process
    // appears; what this times is the list's cost at this size, so the page is held to its fallback,
    // the list every 3 s, as against a server without /events.
    await page.route(
      (url) => url.pathname === '/events',
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({
            error: 404,
            details: 'no route GET /events (the bench holds the page to polling)',
            code: 'route_not_found',
          }),
        }),
    );
    const details = { gets: 0, last: 0 };
    page.on('request', (req) => {
      if (/\/process\/[^/?]+$/.test(new URL(req.url()).pathname) && req.method() === 'GET') {
        details.gets++;
        details.last = performance.now();
      }
    });
    const navigated = performance.now();
    await page.goto(server.url);
    const read = () => page.evaluate<PageRecord>('window.__hpBench');
    const deadline = performance.now() + 120_000;
    let record = await read();
    let first: ListTiming | undefined;
    while (first?.painted === undefined || (first.rows ?? 0) < count) {
      if (performance.now() > deadline) throw new Error(`the dashboard did not show ${count} rows within 120 s`);
      await sleep(50);
      record = await read();
      first = record.lists[0];
    }
    // The page then asks the rendered rows' times (GET /process/{name}, a few at a time) when the
    // list leaves them out; the refreshes are timed once it is done (nothing asked for 1.5 s), and
    // also while it asks.
    const shownAt = performance.now();
    while (performance.now() - Math.max(details.last, shownAt) < 1500) {
      if (performance.now() > deadline) break;
      await sleep(100);
    }
    const detailsMs = details.gets === 0 ? NaN : details.last - navigated;
    const afterFill = (await read()).lists.length;
    while ((await read()).lists.filter((l, i) => i >= afterFill && l.painted !== undefined).length < 3) {
      if (performance.now() > deadline + 30_000) throw new Error('the dashboard did not refresh three times within 30 s');
      await sleep(200);
    }
    record = await read();
    const during = record.lists.slice(1, afterFill).filter((l) => l.painted !== undefined);
    const after = record.lists.slice(afterFill).filter((l) => l.painted !== undefined);
    const cost = (l: ListTiming) => l.painted! - l.received;
    const longest = (from: number, to: number) =>
      Math.max(0, ...record.longTasks.filter((t) => t.start + t.duration >= from && t.start <= to).map((t) => t.duration));
    ctx.rows.push({
      scenario: `${label}: first render (list answered → rows painted)`,
      raw: '—',
      hydroplane: ms(cost(first)),
      target: '< 200 ms',
      verdict: cost(first) < 200 ? 'met' : 'missed',
    });
    ctx.rows.push({
      scenario: `${label}: a refresh, polling (list answered → painted), p50 of ${after.length}`,
      raw: '—',
      hydroplane: ms(median(after.map(cost))),
      target: '< 200 ms',
      verdict: after.every((l) => cost(l) < 200) ? 'met' : 'missed',
    });
    ctx.notes.push(
      `${label}: navigation → first rows painted ${ms(first.painted)} (the list answered at ${ms(first.received)}; ${first.rendered} rows in the page); ` +
        `longest task in the first render ${ms(longest(first.received, first.painted))}; ` +
        `refreshes after the rendered rows' times were asked: ${after.map((l) => ms(cost(l))).join(', ')} (longest task ${ms(Math.max(...after.map((l) => longest(l.received, l.painted!))))}); ` +
        `refreshes while they were asked: ${during.map((l) => ms(cost(l))).join(', ') || 'none'}; ` +
        `the page asked ${details.gets} processes' times (GET /process/{name}), the last ${ms(detailsMs)} after navigation; ` +
        `long tasks in all: ${record.longTasks.length}, ${ms(record.longTasks.reduce((a, t) => a + t.duration, 0))}`,
    );
  } finally {
    await browser.close();
  }
}
