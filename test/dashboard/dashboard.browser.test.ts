// The dashboard in headless Chromium, against the real server command and real containers: it
// lists what runs (image, start and end times), shows logs, keeps its view in the address, stops
// running processes and removes ended ones, behind the API token when the server has one; it
// follows GET /events (rows change without reading the list again; each process's history), falls
// back to reading the list without it, and applies specs from its editor with the server's messages
// next to the lines they are about.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DockerTestRun, TEST_IMAGE, eventually, freePort } from '../support/docker.ts';
import { browserSkip, launchChromium } from '../support/browser.ts';
import { ROOT, startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

const TOKEN = 'dashboard-test-token';
const LOG_LINE = 'dashboard-log-line';
// The screenshot in the docs is rewritten only when asked, so that test runs leave the tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? join(ROOT, 'docs/images/dashboard.png')
  : join(await mkdtemp(join(tmpdir(), 'hp-dashboard-shot-')), 'dashboard.png');
await mkdir(dirname(SCREENSHOT), { recursive: true });

const run = new DockerTestRun();
const skip = await browserSkip('dashboard tests', { builtServer: true, docker: true });

let browser: Browser | undefined;
after(async () => browser?.close());

interface OpenOptions {
  /** Awaited before each list (GET /process) is answered: a test holds the lists to see what the stream alone does. */
  beforeList?: () => Promise<void>;
  /** Answers GET /events with 404, as a server without it. */
  noEvents?: boolean;
}

async function openPage(
  url: string,
  options: OpenOptions = {},
): Promise<{ page: Page; requests: Array<{ url: string; method: string; authorization: string | undefined }>; problems: string[] }> {
  browser ??= await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(20_000);
  const requests: Array<{ url: string; method: string; authorization: string | undefined }> = [];
  const problems: string[] = [];
  page.on('request', (request) =>
    requests.push({ url: request.url(), method: request.method(), authorization: request.headers()['authorization'] }),
  );
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // The browser logs every non-2xx answer; the page shows those itself.
    if (message.type() === 'error' && !/status of (401|404|422)/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  // The Engine may run other tests' and users' processes too: the page sees this run's only, so
  // that the screenshot shows what this test started.
  await page.route(`${url}/process`, async (route) => {
    await options.beforeList?.();
    const response = await route.fetch();
    if (!response.ok()) return route.fulfill({ response });
    const list = (await response.json()) as Array<{ process_name: string }>;
    return route.fulfill({ response, json: list.filter((p) => p.process_name.startsWith(run.prefix)) });
  });
  if (options.noEvents) {
    await page.route(
      (u) => u.pathname === '/events',
      (route) =>
        route.fulfill({
          status: 404,
          json: { error: 404, details: 'no route GET /events; see /docs for the API', code: 'route_not_found' },
        }),
    );
  }
  await page.goto(url);
  return { page, requests, problems };
}

/**
 * Closes a page whose list route may be in the middle of a call: the page polls the list every
 * few seconds, and a route.fetch cut by the close would reject after the test has ended.
 */
async function closePage(page: Page): Promise<void> {
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.close();
}

async function startServer(env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const config = await writeConfig(`runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
  return startServerProcess(['-c', config], env);
}

function client(server: ServerProcess, token?: string) {
  return async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
}

interface Launch {
  name: string;
  group: string;
  command: string[];
  port?: number;
  public?: boolean;
  maxAgeMinutes?: number;
}

function spec(p: Launch) {
  return {
    process_name: p.name,
    group: p.group,
    has_public_ip: p.public ?? false,
    ...(p.maxAgeMinutes === undefined ? {} : { max_age_minutes: p.maxAgeMinutes }),
    container: { image_uri: TEST_IMAGE, command: p.command, ports: p.port ? [{ container_port: 8080, host_port: p.port }] : [] },
  };
}

const WEB_COMMAND = ['sh', '-c', `echo ${LOG_LINE}; exec httpd -f -p 8080 -h /www`];
const TICK_COMMAND = ['sh', '-c', 'echo worker started; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'];
const EXIT_COMMAND = ['sh', '-c', 'echo done; exit 3'];
const search = (page: Page) => new URL(page.url()).searchParams;

const row = (page: Page, name: string) => page.locator(`tr[data-process="${name}"]`);
const connection = (page: Page) => page.locator('[data-connection]');
/** The list reads (GET /process, not one process's) among the page's requests. */
const listReads = (requests: Array<{ url: string; method: string }>) =>
  requests.filter((r) => r.method === 'GET' && new URL(r.url).pathname === '/process').length;

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in with the API token').waitFor();
}
const maxTick = (text: string) => Math.max(0, ...[...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));

describe('the dashboard, with an API token', { skip }, () => {
  let server: ServerProcess;
  let api: ReturnType<typeof client>;
  const web: Launch = { name: run.name('web'), group: `${run.prefix}site`, command: WEB_COMMAND, public: true };
  const backend: Launch = { name: run.name('api'), group: `${run.prefix}site`, command: WEB_COMMAND };
  const workers: Launch[] = [1, 2].map(() => ({ name: run.name('worker'), group: `${run.prefix}batch`, command: TICK_COMMAND }));
  const oneShot: Launch = { name: run.name('once'), group: `${run.prefix}jobs`, command: EXIT_COMMAND };

  before(async () => {
    server = await startServer({ HYDROPLANE_API_TOKEN: TOKEN });
    api = client(server, TOKEN);
    web.port = await freePort();
    backend.port = await freePort();
    for (const p of [web, backend, ...workers, oneShot]) {
      const res = await api('POST', '/process', spec(p));
      assert.equal(res.status, 201, res.text);
    }
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  it('asks for the token, shows the processes, their logs and addresses, and stops them after confirmation', async () => {
    const { page, requests, problems } = await openPage(server.url);

    // A token that no header can carry: said at once, and nothing is sent.
    const tokenField = page.getByLabel('API token');
    await tokenField.fill('tok€n');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This token holds a character outside ASCII (character 4)' }).waitFor();
    // A wrong token: the API's answer is shown, and the form stays.
    await tokenField.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'the API token is not valid' }).waitFor();
    assert.equal(await page.locator('table.processes').count(), 0);

    await tokenField.fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in with the API token').waitFor();
    for (const p of [web, backend, ...workers]) await row(page, p.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    assert.equal(await row(page, web.name).locator('td.name').textContent(), web.name);
    assert.equal(await row(page, web.name).locator('td').nth(2).textContent(), web.group);

    // The image as the spec gave it, and when the container started (exactly, on hover).
    assert.equal(await row(page, web.name).locator('td.image').textContent(), TEST_IMAGE);
    const started = row(page, web.name).locator('time').first();
    const startedAt = Date.parse((await started.getAttribute('datetime')) ?? '');
    assert.ok(Math.abs(startedAt - Date.now()) < 120_000, `started ${await started.getAttribute('datetime')}`);
    assert.match((await started.textContent()) ?? '', /^\d+[smhd].* ago$/);
    assert.equal(await row(page, web.name).getByText('ended').count(), 0);

    // An ended process: its exit time, and Remove instead of Stop.
    const once = row(page, oneShot.name);
    await once.locator('.badge', { hasText: 'EXITED (3)' }).waitFor();
    await once.getByText('ended').waitFor();
    const ran = await once.locator('time').evaluateAll((times) => times.map((t) => Date.parse(t.getAttribute('datetime') ?? '')));
    assert.equal(ran.length, 2);
    // Not ordered: for a container that ends at once, the Engine may note its end a moment before its start.
    for (const time of ran) assert.ok(Math.abs(time - Date.now()) < 120_000, String(ran));
    assert.equal(await once.getByRole('button', { name: 'Stop' }).count(), 0);
    await once.getByRole('button', { name: 'Remove' }).click();
    const removal = page.getByRole('dialog');
    await removal.getByText(`Remove ${oneShot.name}?`).waitFor();
    await removal.getByText('no longer listed').waitFor();
    await removal.getByRole('button', { name: 'Remove process' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Removed ${oneShot.name}.` })
      .waitFor();
    await once.waitFor({ state: 'detached' });
    assert.equal((await api('GET', `/process/${oneShot.name}`)).status, 404);

    // A public address is a link to it; a loopback one is text.
    const [address] = (await api('GET', `/process/${web.name}`)).json().socket_addresses;
    assert.equal(address.is_public, true);
    const link = row(page, web.name).getByRole('link', { name: `${address.host}:${address.port}` });
    assert.equal(await link.getAttribute('href'), `http://${address.host}:${address.port}/`);
    assert.equal(await row(page, backend.name).getByRole('link').count(), 0);
    assert.match((await row(page, backend.name).textContent()) ?? '', new RegExp(`127\\.0\\.0\\.1:${backend.port}`));

    // The group filter, in the address: a reload keeps it, the back button undoes it.
    await page.getByLabel('Filter by group').selectOption(workers[0]!.group);
    await row(page, web.name).waitFor({ state: 'detached' });
    for (const w of workers) await row(page, w.name).waitFor();
    assert.equal(search(page).get('group'), workers[0]!.group);
    await page.reload();
    for (const w of workers) await row(page, w.name).waitFor();
    assert.equal(await page.getByLabel('Filter by group').inputValue(), workers[0]!.group);
    assert.equal(await row(page, web.name).count(), 0);
    await page.goBack();
    await row(page, web.name).waitFor();
    assert.equal(await page.getByLabel('Filter by group').inputValue(), '');
    assert.equal(search(page).get('group'), null);
    await page.goForward();
    await row(page, web.name).waitFor({ state: 'detached' });
    await page.getByLabel('Filter by group').selectOption('');
    await row(page, web.name).waitFor();

    // Logs: the process's own output.
    await row(page, web.name).getByRole('button', { name: 'Logs' }).click();
    await page
      .getByRole('region', { name: `Logs of ${web.name}` })
      .locator('pre')
      .filter({ hasText: LOG_LINE })
      .waitFor();

    // Following a log: lines written after it was opened arrive.
    await row(page, workers[0]!.name).getByRole('button', { name: 'Logs' }).click();
    const workerLogs = page.getByRole('region', { name: `Logs of ${workers[0]!.name}` });
    await workerLogs.locator('pre').filter({ hasText: 'tick' }).waitFor();
    await workerLogs.getByLabel('Follow').check();
    await workerLogs.getByText('Following').waitFor();
    assert.equal(search(page).get('logs'), workers[0]!.name);
    assert.equal(search(page).get('follow'), '1');
    // A reload (or the same link elsewhere) opens the same log, followed.
    await page.reload();
    await workerLogs.getByText('Following').waitFor();
    assert.equal(await workerLogs.getByLabel('Follow').isChecked(), true);
    const seen = maxTick((await workerLogs.locator('pre').textContent()) ?? '');
    await eventually(
      async () => (maxTick((await workerLogs.locator('pre').textContent()) ?? '') > seen + 1 ? true : undefined),
      'followed lines',
      15_000,
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await workerLogs.getByRole('button', { name: 'Close' }).click();
    await workerLogs.waitFor({ state: 'detached' });
    assert.equal(search(page).get('logs'), null);
    assert.equal(search(page).get('follow'), null);

    // A link to the log of a process that is not listed: said so, and no log opened.
    const gone = `${run.prefix}never-ran`;
    await page.goto(`${server.url}/?logs=${encodeURIComponent(gone)}&follow=1`);
    await page
      .getByRole('status')
      .filter({ hasText: `The process ${gone} in the address is not listed` })
      .waitFor();
    await row(page, web.name).waitFor();
    assert.equal(await page.getByRole('region', { name: `Logs of ${gone}` }).count(), 0);
    assert.equal(search(page).get('logs'), null);

    // Stop: nothing happens until confirmed.
    await row(page, web.name).getByRole('button', { name: 'Stop' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Stop ${web.name}?`).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await api('GET', `/process/${web.name}`)).status, 200);

    await row(page, web.name).getByRole('button', { name: 'Stop' }).click();
    await dialog.getByRole('button', { name: 'Stop process' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Stopped ${web.name}.` })
      .waitFor();
    await row(page, web.name).waitFor({ state: 'detached' });
    assert.equal((await api('GET', `/process/${web.name}`)).status, 404);
    assert.deepEqual(await run.docker.listContainers({ all: true, filters: { name: [web.name] } }), []);

    // A group at once.
    await page.getByLabel('Filter by group').selectOption(workers[0]!.group);
    await page.getByRole('button', { name: 'Stop group' }).click();
    await dialog.getByText(`Stop group ${workers[0]!.group}?`).waitFor();
    await dialog.getByRole('button', { name: 'Stop group' }).click();
    await page.getByText(`No processes in the group ${workers[0]!.group}.`).waitFor();
    assert.deepEqual((await api('GET', `/group/${workers[0]!.group}`)).json(), []);
    await page.getByLabel('Filter by group').selectOption('');
    await row(page, backend.name).waitFor();

    // The token stays with the tab: a reload needs no new sign-in.
    await page.reload();
    await row(page, backend.name).waitFor();
    assert.equal(await page.getByLabel('API token').count(), 0);

    // An error of the API is shown with its details: here, the logs of a process that has gone.
    await row(page, backend.name).getByRole('button', { name: 'Logs' }).click();
    const backendLogs = page.getByRole('region', { name: `Logs of ${backend.name}` });
    await backendLogs.locator('pre').filter({ hasText: LOG_LINE }).waitFor();
    assert.equal((await api('DELETE', `/process/${backend.name}`)).status, 200);
    await backendLogs.getByRole('button', { name: 'Reload' }).click();
    await backendLogs
      .getByRole('alert')
      .filter({ hasText: `no process named '${backend.name}'` })
      .waitFor();
    await backendLogs.getByRole('button', { name: 'Close' }).click();
    await row(page, backend.name).waitFor({ state: 'detached' });

    // Only this server was asked, and every API call carried the token.
    const origin = new URL(server.url).origin;
    for (const r of requests) if (!r.url.startsWith('data:')) assert.equal(new URL(r.url).origin, origin, r.url);
    const apiCalls = requests.filter((r) => /^\/(process|group)\b/.test(new URL(r.url).pathname));
    assert.ok(apiCalls.length > 5, String(apiCalls.length));
    for (const r of apiCalls) assert.match(r.authorization ?? '', /^Bearer (dashboard-test-token|not-the-token)$/, `${r.method} ${r.url}`);
    for (const r of requests.filter((r) => new URL(r.url).pathname.startsWith('/dashboard/')))
      assert.equal(r.authorization, undefined, r.url);
    assert.deepEqual(problems, []);
    await closePage(page);
  });
});

describe('the dashboard, without an API token', { skip }, () => {
  let server: ServerProcess;
  const p: Launch = { name: run.name('open'), group: `${run.prefix}open`, command: WEB_COMMAND };

  before(async () => {
    server = await startServer();
    p.port = await freePort();
    const res = await client(server)('POST', '/process', spec(p));
    assert.equal(res.status, 201, res.text);
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  it('says why it needs no token, shows the processes and their logs, and stops them after confirmation', async () => {
    const { page, problems } = await openPage(server.url);
    await row(page, p.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    await page.getByText('No API token: this server answers only this machine').waitFor();
    assert.equal(await page.getByLabel('API token').count(), 0);
    await page.getByRole('button', { name: 'Start / apply' }).waitFor();
    await page.getByLabel('Filter by group').selectOption(p.group);
    await page.getByRole('button', { name: 'Stop group' }).waitFor();
    await row(page, p.name).getByRole('button', { name: 'Logs' }).click();
    await page
      .getByRole('region', { name: `Logs of ${p.name}` })
      .locator('pre')
      .filter({ hasText: LOG_LINE })
      .waitFor();
    await row(page, p.name).getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop process' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Stopped ${p.name}.` })
      .waitFor();
    await row(page, p.name).waitFor({ state: 'detached' });
    // The open log went with it, from the page and from the address.
    assert.equal(await page.getByRole('region', { name: `Logs of ${p.name}` }).count(), 0);
    assert.equal(search(page).get('logs'), null);
    assert.equal(search(page).get('group'), p.group);
    assert.equal((await client(server)('GET', `/process/${p.name}`)).status, 404);
    assert.deepEqual(problems, []);
    await closePage(page);
  });

  it('has the API documentation at /docs: Swagger UI renders the OpenAPI document, within the page policy', async () => {
    const { page, problems } = await openPage(`${server.url}/docs`);
    await page.locator('.swagger-ui .info .title', { hasText: 'Hydroplane' }).waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/process/{process_name}/logs' }).first().waitFor();
    // A refused script or style would be a console error.
    assert.deepEqual(problems, []);
    await closePage(page);
  });
});

describe('the dashboard, live from the event stream', { skip }, () => {
  let server: ServerProcess;
  let api: ReturnType<typeof client>;
  const group = `${run.prefix}live`;
  const anchor: Launch = { name: run.name('anchor'), group, command: TICK_COMMAND, maxAgeMinutes: 30 };

  before(async () => {
    server = await startServer({ HYDROPLANE_API_TOKEN: TOKEN });
    api = client(server, TOKEN);
    const res = await api('POST', '/process', spec(anchor));
    assert.equal(res.status, 201, res.text);
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  it('changes rows as processes start, exit and stop, without reading the list; each process has its history', async () => {
    // While `held` is set, list answers wait: what changes meanwhile came by the stream.
    let held: { promise: Promise<void>; release: () => void } | undefined;
    const hold = () => {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      held = { promise, release };
    };
    const { page, requests, problems } = await openPage(server.url, { beforeList: async () => held?.promise });
    await signIn(page);
    await row(page, anchor.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    await connection(page).filter({ hasText: 'Live' }).waitFor();
    // The group's stream only (GET /events?group=...): other tests' processes on this Engine stay out of it.
    await page.getByLabel('Filter by group').selectOption(group);
    await eventually(
      async () =>
        requests.some((r) => new URL(r.url).pathname === '/events' && new URL(r.url).searchParams.get('group') === group)
          ? true
          : undefined,
      'a stream of the group',
    );
    await connection(page).filter({ hasText: 'Live' }).waitFor();
    // Its expiry (max_age_minutes: 30), counted down.
    assert.match((await row(page, anchor.name).locator('.expires').textContent()) ?? '', /^stops in (29|30)m$/);

    // A start: the row comes, and turns RUNNING, while no list is answered.
    hold();
    const worker: Launch = { name: run.name('live'), group, command: TICK_COMMAND };
    assert.equal((await api('POST', '/process', spec(worker))).status, 201);
    await row(page, worker.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    // The stream's rows know no addresses and no image until the list says them.
    assert.equal(await row(page, worker.name).locator('td.image code').count(), 0);
    held!.release();
    held = undefined;
    await row(page, worker.name).locator('td.image', { hasText: TEST_IMAGE }).waitFor();

    // An exit: its code, from the stream, in the row and in the history.
    const once: Launch = { name: run.name('exits'), group, command: EXIT_COMMAND };
    assert.equal((await api('POST', '/process', spec(once))).status, 201);
    await row(page, once.name).locator('.badge', { hasText: 'EXITED (3)' }).waitFor();
    await row(page, once.name).getByRole('button', { name: 'History' }).click();
    const history = page.getByRole('list', { name: `History of ${once.name}` });
    await history.locator('li', { hasText: 'exited with exit code 3' }).waitFor();
    await history.locator('li', { hasText: 'created' }).waitFor();
    assert.equal(await row(page, once.name).getByRole('button', { name: 'History' }).getAttribute('aria-expanded'), 'true');

    // A stop: the row goes, and no list is read for it (nor for the 3 s the page polled at before).
    // First the reads that the starts above asked for (at most one every 2 s) are over.
    for (let before = -1; before !== listReads(requests);) {
      before = listReads(requests);
      await page.waitForTimeout(2500);
    }
    const reads = listReads(requests);
    assert.equal((await api('DELETE', `/process/${worker.name}`)).status, 200);
    await row(page, worker.name).waitFor({ state: 'detached' });
    await page.waitForTimeout(3500);
    assert.equal(listReads(requests), reads, 'no list was read after the stop');
    await connection(page).filter({ hasText: 'Live' }).waitFor();

    // The history of a running process: created and started, from the list's times and the stream.
    await row(page, anchor.name).getByRole('button', { name: 'History' }).click();
    const anchorHistory = page.getByRole('list', { name: `History of ${anchor.name}` });
    await anchorHistory.locator('li[data-type="running"]', { hasText: 'started' }).waitFor();
    await anchorHistory.locator('li[data-type="created"]').waitFor();
    assert.deepEqual(problems, []);
    await closePage(page);
  });

  it('reads the list every 3 seconds when the server has no event stream', async () => {
    const { page, requests, problems } = await openPage(server.url, { noEvents: true });
    await signIn(page);
    await connection(page)
      .filter({ hasText: /every 3 s/ })
      .waitFor();
    assert.equal(await connection(page).getAttribute('data-connection'), 'polling');
    const late: Launch = { name: run.name('polled'), group, command: TICK_COMMAND };
    const reads = listReads(requests);
    assert.equal((await api('POST', '/process', spec(late))).status, 201);
    await row(page, late.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    assert.ok(listReads(requests) > reads);
    assert.equal((await api('DELETE', `/process/${late.name}`)).status, 200);
    await row(page, late.name).waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
    await closePage(page);
  });

  it("applies a spec from its editor: the server's messages beside their lines, then created, unchanged, replaced", async () => {
    const { page, requests, problems } = await openPage(server.url);
    await signIn(page);
    await row(page, anchor.name).waitFor();
    await page.getByRole('button', { name: 'Start / apply' }).click();
    const editor = page.getByRole('region', { name: 'Start or apply a process' });
    const text = editor.getByLabel('Process spec (JSON)');
    // The editor opens with the keyboard in it, and an example.
    assert.equal(await page.locator('#spec-text:focus').count(), 1);
    assert.match(await text.inputValue(), /"process_name": "hello"/);

    const name = run.name('edited');
    const specText = (extra: { port?: number; command?: string[]; misspelt?: boolean }) =>
      [
        '{',
        `  "process_name": "${name}",`,
        `  "group": "${group}",`,
        '  "container": {',
        `    "image_uri": "${TEST_IMAGE}",`,
        `    "command": ${JSON.stringify(extra.command ?? TICK_COMMAND)},`,
        ...(extra.misspelt ? ['    "comand": ["sleep", "1"],'] : []),
        '    "ports": [',
        `      { "container_port": ${extra.port ?? 8080} }`,
        '    ]',
        '  }',
        '}',
      ].join('\n');
    const problemsList = editor.getByRole('list', { name: 'Problems in the spec' });

    // Two problems the server names: each beside its line (the misspelt field on 7, the port on 9).
    await text.fill(specText({ port: 0, misspelt: true }));
    await editor.getByRole('button', { name: 'Apply' }).click();
    await problemsList.waitFor();
    const portProblem = problemsList.locator('li', { hasText: 'container.ports[0].container_port' });
    await portProblem.getByRole('button', { name: 'Line 9' }).waitFor();
    await problemsList.locator('li', { hasText: 'container.comand' }).getByRole('button', { name: 'Line 7' }).waitFor();
    assert.match((await editor.locator('.notes [data-line="9"]').textContent()) ?? '', /container\.ports\[0\]\.container_port: /);
    assert.match((await editor.locator('.notes [data-line="7"]').textContent()) ?? '', /container\.comand: unknown field/);
    assert.equal(await editor.locator('.notes .note-line').count(), 2);
    assert.equal(await editor.locator('.gutter .marked').count(), 2);
    // A problem's line button puts the caret on that line.
    await portProblem.getByRole('button', { name: 'Line 9' }).click();
    const caretLine = await text.evaluate((element) => {
      const area = element as unknown as { value: string; selectionStart: number };
      return area.value.slice(0, area.selectionStart).split('\n').length;
    });
    assert.equal(caretLine, 9);
    assert.equal(await page.locator('#spec-text:focus').count(), 1);
    const put = requests.filter((r) => r.method === 'PUT');
    assert.equal(put.length, 1);
    assert.equal(new URL(put[0]!.url).pathname, `/process/${name}`);
    assert.equal(new URL(put[0]!.url).searchParams.get('fieldValidation'), 'Strict');
    assert.equal(put[0]!.authorization, `Bearer ${TOKEN}`);

    // Not JSON: said at its line, and nothing sent.
    await text.fill(specText({}).replace('"group"', 'group'));
    await editor.getByRole('button', { name: 'Apply' }).click();
    await editor.getByRole('alert').filter({ hasText: 'The spec is not JSON.' }).waitFor();
    await problemsList.getByRole('button', { name: 'Line 3' }).waitFor();
    assert.equal(requests.filter((r) => r.method === 'PUT').length, 1);

    // With Warn, the misspelt field is dropped and named; the process is created.
    await text.fill(specText({ misspelt: true }));
    await editor.getByLabel(/Drop unknown fields/).check();
    await editor.getByRole('button', { name: 'Apply' }).click();
    await editor
      .getByRole('status')
      .filter({ hasText: `Created ${name}.` })
      .waitFor();
    await editor.getByRole('list', { name: 'Warnings' }).getByText('container.comand').waitFor();
    await row(page, name).locator('.badge', { hasText: 'RUNNING' }).waitFor();

    // The same spec again: unchanged (Ctrl+Enter applies, from the text).
    await text.focus();
    await page.keyboard.press('Control+Enter');
    await editor
      .getByRole('status')
      .filter({ hasText: `Unchanged ${name}: it already runs this spec.` })
      .waitFor();

    // Another command: replaced.
    await editor.getByLabel(/Drop unknown fields/).uncheck();
    await text.fill(specText({ command: ['sh', '-c', 'echo replaced; exec sleep 600'] }));
    await editor.getByRole('button', { name: 'Apply' }).click();
    await editor
      .getByRole('status')
      .filter({ hasText: `Replaced ${name}.` })
      .waitFor();
    await row(page, name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    const replaced = (await api('GET', `/process/${name}`)).json();
    assert.equal(replaced.status, 'RUNNING');

    // Closing keeps the text for next time.
    await editor.getByRole('button', { name: 'Close' }).click();
    await editor.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Start / apply' }).click();
    assert.match(await text.inputValue(), /echo replaced/);
    assert.equal((await api('DELETE', `/process/${name}`)).status, 200);
    assert.deepEqual(problems, []);
    await closePage(page);
  });

  it('reconnects when the stream ends, resuming after the last event id, and reads the list when the stream keeps failing', async () => {
    // The stream as the page gets it: two short ones that end, then none at all.
    const attempts: Array<string | undefined> = [];
    const exited = {
      type: 'exited',
      process_name: anchor.name,
      group,
      time: new Date().toISOString(),
      status: 'EXITED',
      exit_code: 42,
    };
    // The first stream waits until the anchor's history is open.
    let historyOpen!: () => void;
    const opened = new Promise<void>((resolve) => (historyOpen = resolve));
    const { page } = await openPage(server.url);
    await page.route(
      (u) => u.pathname === '/events',
      async (route) => {
        attempts.push(route.request().headers()['last-event-id']);
        const body =
          attempts.length === 1
            ? `retry: 200\n\n: hello\n\nid: canned-1\nevent: process\ndata: ${JSON.stringify(exited)}\n\n`
            : attempts.length === 2
              ? ': keep-alive\r\n\r\n'
              : undefined;
        if (body === undefined) return route.abort('connectionreset');
        if (attempts.length === 1) await opened;
        return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }, body });
      },
    );
    await signIn(page);
    await row(page, anchor.name).getByRole('button', { name: 'History' }).click();
    historyOpen();
    // The first stream's event is in the history (made up here: the list, read when a stream opens, says it runs).
    await page
      .getByRole('list', { name: `History of ${anchor.name}` })
      .locator('li', { hasText: 'exited with exit code 42' })
      .waitFor();
    await eventually(async () => (attempts.length >= 2 ? true : undefined), 'a second attempt');
    assert.deepEqual(attempts.slice(0, 2), [undefined, 'canned-1']);
    await connection(page).filter({ hasText: 'Reconnecting' }).waitFor();
    // Failing again and again: the list every 3 s, which has the truth.
    await connection(page)
      .filter({ hasText: /every 3 s/ })
      .waitFor({ timeout: 30_000 });
    await row(page, anchor.name).locator('.badge', { hasText: 'RUNNING' }).waitFor();
    assert.ok(attempts.length >= 5, String(attempts.length));
    await closePage(page);
  });

  it('offers the editor only to a page that may change processes: signed in, or a server on loopback without a token', async () => {
    const { page } = await openPage(server.url);
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Start / apply' }).count(), 0);
    await signIn(page);
    await page.getByRole('button', { name: 'Start / apply' }).waitFor();
    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Start / apply' }).count(), 0);
    await closePage(page);
  });
});
