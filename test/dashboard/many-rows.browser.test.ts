// The dashboard with 1,000 processes, in headless Chromium, against the server over the in-memory
// runtime listing as Docker does (no start and end times in the list): only a window of the rows is
// in the page, with spacers for the rest and each row's place told to screen readers; scrolling
// and Tab bring the others in; the page asks GET /process/{name} only for the rows it renders, once
// each, and never for a start that an event told; events, histories and stops work on the window.
// No timings here: the bench measures those (bench/scenarios/dashboard.ts, bench/dashboard-fake.ts).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { buildApp } from '../../src/server/app.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { browserSkip, launchChromium } from '../support/browser.ts';
import { DockerListRuntime } from '../support/docker-list-runtime.ts';

const COUNT = 1000;
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const nameOf = (i: number) => `p-${String(i).padStart(4, '0')}`;
const spec = (name: string) =>
  ProcessSpec.parse({ process_name: name, group: 'many', container: { image_uri: 'busybox', command: ['sleep', '3600'] } });

const skip = await browserSkip('dashboard tests with many rows', { builtServer: true });

let browser: Browser | undefined;
let app: FastifyInstance | undefined;
let runtime: DockerListRuntime;
let url: string;

before(async () => {
  if (skip) return;
  runtime = new DockerListRuntime();
  for (let i = 0; i < COUNT; i++) await runtime.start(spec(nameOf(i)));
  app = await buildApp({ runtime, logger: false, dashboard: {} });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await browser?.close();
  await app?.close();
});

interface Opened {
  page: Page;
  /** The process of each GET /process/{name}, in order. */
  asked: string[];
  problems: string[];
}

async function openPage(): Promise<Opened> {
  browser ??= await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(20_000);
  const asked: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => {
    const match = /^\/process\/([^/?]+)$/.exec(new URL(request.url()).pathname);
    if (match && request.method() === 'GET') asked.push(decodeURIComponent(match[1]!));
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  await page.locator(`table.processes[data-rows="${runtime.processes.size}"]`).waitFor();
  await page.locator('[data-connection="live"]').waitFor();
  return { page, asked, problems };
}

const rendered = (page: Page) => page.locator('tr[data-process]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-process')!));
const table = (page: Page) => page.locator('table.processes');
const row = (page: Page, name: string) => page.locator(`tr[data-process="${name}"]`);
const rowIndex = async (page: Page, name: string) => Number(await row(page, name).getAttribute('aria-rowindex'));

/** Scrolls the page to `y`, an expression in the page. */
const scrollTo = (page: Page, y: string) => page.evaluate(`scrollTo(0, ${y})`);

/** Resolves once `check` holds, polling; fails with what it last saw. */
async function eventually<T>(look: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 200; i++) {
    last = await look();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}; last seen: ${JSON.stringify(last)}`);
}

/** Waits until the page has asked nothing for a while: it asked all it was going to. */
async function settled(asked: string[]): Promise<void> {
  let seen = -1;
  while (seen !== asked.length) {
    seen = asked.length;
    await new Promise((r) => setTimeout(r, 600));
  }
}

describe('the dashboard with 1,000 processes', { skip }, () => {
  it('renders a window of the rows, with their places for screen readers, and scrolling brings the others in', async () => {
    const { page, problems } = await openPage();
    assert.equal(await table(page).getAttribute('aria-rowcount'), String(COUNT + 1));
    assert.equal(await page.locator('thead tr').getAttribute('aria-rowindex'), '1');

    const first = await rendered(page);
    assert.ok(first.length >= 10 && first.length <= 100, `${first.length} rows in the page`);
    assert.deepEqual(
      first,
      first.map((_, i) => nameOf(i)),
    );
    for (const name of [first[0]!, first.at(-1)!]) assert.equal(await rowIndex(page, name), Number(name.slice(2)) + 2);
    // The spacer below stands for the rest: the page is about as long as all rows would make it.
    const { rowHeight, scrollHeight } = await page.evaluate<{ rowHeight: number; scrollHeight: number }>(
      `({ rowHeight: document.querySelector('tr[data-process]').getBoundingClientRect().height, scrollHeight: document.documentElement.scrollHeight })`,
    );
    assert.ok(scrollHeight >= COUNT * rowHeight * 0.9, `page ${scrollHeight} px for rows of ${rowHeight} px`);
    assert.equal(await page.locator('tr.spacer').count(), 1);
    assert.equal(await page.locator('tr.spacer').getAttribute('aria-hidden'), 'true');

    // To the end: the last rows come in, the first go, and the spacer is above now.
    await scrollTo(page, 'document.documentElement.scrollHeight');
    await row(page, nameOf(COUNT - 1)).waitFor();
    await row(page, nameOf(0)).waitFor({ state: 'detached' });
    assert.equal(await rowIndex(page, nameOf(COUNT - 1)), COUNT + 1);
    const last = await rendered(page);
    assert.ok(last.length <= 100, `${last.length} rows in the page`);
    assert.equal(await row(page, nameOf(COUNT - 1)).isVisible(), true);
    const lastBox = await row(page, nameOf(COUNT - 1)).boundingBox();
    assert.ok(lastBox && lastBox.y + lastBox.height <= 720 + 2, `the last row at ${JSON.stringify(lastBox)}, in the viewport`);

    // To the middle: the rows there, in order, each at its place.
    await scrollTo(page, 'document.documentElement.scrollHeight / 2');
    const middle = await eventually(
      () => rendered(page),
      (names) => names.length > 0 && !names.includes(nameOf(COUNT - 1)) && !names.includes(nameOf(0)),
      'rows from the middle',
    );
    for (const name of middle) assert.equal(await rowIndex(page, name), Number(name.slice(2)) + 2, name);
    const visible = await page.locator('tr[data-process]').evaluateAll(
      (rows) =>
        rows.filter((r) => {
          const box = r.getBoundingClientRect();
          return box.bottom > 0 && box.top < 720;
        }).length,
    );
    assert.ok(visible >= 5, `${visible} rows in the viewport`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('asks times only for the rows it renders, once each, and never for a start that an event told', async () => {
    const { page, asked, problems } = await openPage();
    await settled(asked);
    const shown = await rendered(page);
    assert.deepEqual([...asked].sort(byText), [...shown].sort(byText), 'each rendered row asked once, and no other');
    // The answers are shown: each rendered row has its start.
    await eventually(
      () => page.locator('tr[data-process]').evaluateAll((rows) => rows.filter((r) => !/started/.test(r.textContent ?? '')).length),
      (without) => without === 0,
      'every rendered row showing its start',
    );

    // Scrolled to the end: the rows there are asked, and none twice.
    await scrollTo(page, 'document.documentElement.scrollHeight');
    await row(page, nameOf(COUNT - 1)).waitFor();
    await settled(asked);
    const atEnd = await rendered(page);
    assert.ok(atEnd.every((name) => asked.includes(name)));
    assert.equal(new Set(asked).size, asked.length, `asked twice: ${asked.filter((n, i) => asked.indexOf(n) !== i).join(', ')}`);
    assert.ok(asked.length < 250, `${asked.length} asked of ${COUNT}`);
    await scrollTo(page, '0');
    await row(page, nameOf(0)).waitFor();

    // A process that starts: its start comes with the running event; the list read after it has none, and is not asked.
    const fresh = 'p-0000a';
    const before = asked.length;
    await runtime.start(spec(fresh));
    await row(page, fresh).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    await row(page, fresh).getByText('started').waitFor();
    assert.equal(await table(page).getAttribute('data-rows'), String(COUNT + 1));
    // An event that ends an asked row: its end is the event's time.
    runtime.exit(nameOf(1), 3);
    await row(page, nameOf(1)).locator('.badge', { hasText: 'EXITED (3)' }).waitFor();
    await row(page, nameOf(1)).getByText('ended').waitFor();
    await settled(asked);
    assert.deepEqual(asked.slice(before), [], 'nothing asked after the events');
    assert.deepEqual(problems, []);
    await page.close();
    await runtime.stop(fresh);
  });

  it('keeps the focused row in the page when the wheel scrolls it far away, and Tab goes on from it', async () => {
    const { page, problems } = await openPage();
    const focusedRow = () => page.evaluate<string | null>(`document.activeElement?.closest('tr')?.getAttribute('data-process') ?? null`);
    const name = nameOf(3);
    await row(page, name).getByRole('button', { name: 'Logs' }).focus();
    assert.equal(await focusedRow(), name);

    // The wheel, as a user scrolls: to the end of the list, far past the window's margin.
    await page.mouse.move(640, 400);
    await eventually(
      async () => {
        await page.mouse.wheel(0, 20_000);
        return rendered(page);
      },
      (names) => names.includes(nameOf(COUNT - 1)),
      'the last rows after the wheel',
    );
    // The focused row and its neighbours are still in the page, at their places, and hold the focus.
    const names = await rendered(page);
    for (const kept of [nameOf(2), name, nameOf(4)]) assert.ok(names.includes(kept), `${kept} kept in ${names.slice(0, 8).join(' ')}…`);
    assert.ok(
      !names.includes(nameOf(1)) && !names.includes(nameOf(5)),
      `only the focused row's neighbours: ${names.slice(0, 8).join(' ')}…`,
    );
    assert.equal(await rowIndex(page, name), 5);
    assert.equal(await focusedRow(), name);
    assert.equal(await page.evaluate<string | null>('document.activeElement?.textContent ?? null'), 'Logs');
    assert.equal(await page.locator('tr.spacer').count(), 2);
    // The spacers keep every row where it would be in the whole table: the focused row's place
    // and the page's height are those of a table without a window.
    const { top, rowHeight, scrollHeight } = await page.evaluate<{ top: number; rowHeight: number; scrollHeight: number }>(
      `(() => { const r = document.querySelector('tr[data-process="${name}"]').getBoundingClientRect(); const b = document.querySelector('tbody').getBoundingClientRect(); return { top: r.top - b.top, rowHeight: r.height, scrollHeight: document.documentElement.scrollHeight }; })()`,
    );
    assert.ok(Math.abs(top - 3 * rowHeight) < rowHeight / 2, `the focused row ${top} px below the body's top, rows of ${rowHeight} px`);
    assert.ok(scrollHeight >= COUNT * rowHeight * 0.9, `page ${scrollHeight} px for rows of ${rowHeight} px`);

    // Tab from it reaches the next control of its own row, then the next row's first, and the page
    // scrolls back to them; Shift+Tab walks back.
    await page.keyboard.press('Tab');
    assert.equal(await focusedRow(), name);
    await page.keyboard.press('Tab');
    await eventually(focusedRow, (focused) => focused === nameOf(4), 'the focus in the next row');
    assert.equal(await page.evaluate<string | null>('document.activeElement?.textContent ?? null'), 'History');
    await eventually(
      () => row(page, nameOf(4)).isVisible(),
      (visible) => visible,
      'the next row scrolled into view',
    );
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await eventually(focusedRow, (focused) => focused === name, 'the focus back in its row');
    assert.equal(await page.evaluate<string | null>('document.activeElement?.textContent ?? null'), 'Logs');

    // Out of the table: the row goes with the window.
    await page.evaluate('document.activeElement.blur()');
    await scrollTo(page, 'document.documentElement.scrollHeight');
    await row(page, name).waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr.spacer').count(), 1);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('opens a history and stops a process at the end of the list, and Tab walks on past the window', async () => {
    const { page, problems } = await openPage();
    const total = runtime.processes.size;
    const lastName = [...runtime.processes.keys()].sort(byText).at(-1)!;
    const victim = [...runtime.processes.keys()].sort(byText).at(-2)!;
    await scrollTo(page, 'document.documentElement.scrollHeight');
    await row(page, lastName).waitFor();

    // A history: its own row after the process's, counted for screen readers.
    const lastIndex = await rowIndex(page, lastName);
    await row(page, lastName).getByRole('button', { name: 'History' }).click();
    const history = page.locator(`tr[data-history="${lastName}"]`);
    await history.getByText('created').waitFor();
    assert.equal(await history.getAttribute('aria-rowindex'), String(lastIndex + 1));
    assert.equal(await table(page).getAttribute('aria-rowcount'), String(total + 2));
    assert.equal(await row(page, lastName).getByRole('button', { name: 'History' }).getAttribute('aria-expanded'), 'true');

    // Stop, after confirmation.
    await row(page, victim).getByRole('button', { name: 'Stop' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Stop ${victim}?`).waitFor();
    await dialog.getByRole('button', { name: 'Stop process' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Stopped ${victim}.` })
      .waitFor();
    await row(page, victim).waitFor({ state: 'detached' });
    assert.equal(runtime.processes.has(victim), false);
    await page.locator(`table.processes[data-rows="${total - 1}"]`).waitFor();
    assert.equal(await rowIndex(page, lastName), lastIndex - 1);

    // Tab from the last rendered row of the top: the focused row scrolls into view, the window
    // follows, and Tab goes on to the next row, which was not in the page before.
    await scrollTo(page, '0');
    await row(page, nameOf(0)).waitFor();
    const edge = (await rendered(page)).at(-1)!;
    const next = nameOf(Number(edge.slice(2)) + 1);
    assert.equal(await row(page, next).count(), 0);
    await row(page, edge).getByRole('button').last().focus();
    await row(page, next).waitFor();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<string | null>(`document.activeElement?.closest('tr')?.getAttribute('data-process') ?? null`);
    assert.equal(focused, next);
    assert.equal(await page.evaluate<string | null>('document.activeElement?.textContent ?? null'), 'History');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
