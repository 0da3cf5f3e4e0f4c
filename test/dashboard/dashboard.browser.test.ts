// The dashboard in headless Chromium, against the real server command and real containers: it
// lists what runs (image, start and end times), shows logs, keeps its view in the address, stops
// running processes and removes ended ones, behind the API token when the server has one.
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

async function openPage(
  url: string,
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
    if (message.type() === 'error' && !/status of (401|404)/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  // The Engine may run other tests' and users' processes too: the page sees this run's only, so
  // that the screenshot shows what this test started.
  await page.route(`${url}/process`, async (route) => {
    const response = await route.fetch();
    if (!response.ok()) return route.fulfill({ response });
    const list = (await response.json()) as Array<{ process_name: string }>;
    return route.fulfill({ response, json: list.filter((p) => p.process_name.startsWith(run.prefix)) });
  });
  await page.goto(url);
  return { page, requests, problems };
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
}

function spec(p: Launch) {
  return {
    process_name: p.name,
    group: p.group,
    has_public_ip: p.public ?? false,
    container: { image_uri: TEST_IMAGE, command: p.command, ports: p.port ? [{ container_port: 8080, host_port: p.port }] : [] },
  };
}

const WEB_COMMAND = ['sh', '-c', `echo ${LOG_LINE}; exec httpd -f -p 8080 -h /www`];
const TICK_COMMAND = ['sh', '-c', 'echo worker started; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'];
const EXIT_COMMAND = ['sh', '-c', 'echo done; exit 3'];
const search = (page: Page) => new URL(page.url()).searchParams;

const row = (page: Page, name: string) => page.locator(`tr[data-process="${name}"]`);
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

    // A wrong token: the API's answer is shown, and the form stays.
    const tokenField = page.getByLabel('API token');
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
    await page.close();
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
    await page.close();
  });

  it('has the API documentation at /docs: Swagger UI renders the OpenAPI document, within the page policy', async () => {
    const { page, problems } = await openPage(`${server.url}/docs`);
    await page.locator('.swagger-ui .info .title', { hasText: 'Hydroplane' }).waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/process/{process_name}/logs' }).first().waitFor();
    // A refused script or style would be a console error.
    assert.deepEqual(problems, []);
    await page.close();
  });
});
