// Web pages against the real server command (no API token) and real containers, in headless
// Chromium: a page on another origin, and a page on a DNS-rebinding name, try to start, stop and
// read processes. Nothing is started or stopped and nothing is read; the dashboard still works.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium } from '../support/browser.ts';
import { DockerTestRun, TEST_IMAGE, freePort } from '../support/docker.ts';
import { startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

const EVIL = 'evil.test';

const run = new DockerTestRun();
const skip = await browserSkip('browser tests', { builtServer: true, docker: true });

const ATTACK_PAGE = '<!doctype html><title>a page elsewhere</title><body><iframe name="sink"></iframe></body>';

interface Forwarded {
  method: string;
  path: string;
  host: string | undefined;
  status: number;
}

/**
 * The attacker's web server: /attack is the page; with `forwardTo`, every other request goes to
 * that port unchanged, Host included, which is exactly what a rebinding name achieves.
 */
async function attackerServer(forwardTo?: number): Promise<{ server: Server; port: number; forwarded: Forwarded[] }> {
  const forwarded: Forwarded[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/attack' || !forwardTo) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ATTACK_PAGE);
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: forwardTo, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        forwarded.push({ method: req.method ?? '', path: req.url ?? '', host: req.headers.host, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port, forwarded };
}

interface Attempt {
  what: string;
  outcome: string;
}

/** Runs in the page: every way a page has to start, stop and read, against `base`. */
async function attack(page: Page, base: string, names: { evil: string; victim: string; group: string; image: string }): Promise<Attempt[]> {
  return page.evaluate(
    async ({ base, names }) => {
      // The page's DOM, typed only as far as used here (the tests compile without the DOM library).
      interface Element {
        [key: string]: unknown;
        append(child: Element): void;
        submit(): void;
        addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
      }
      const { document, Image } = globalThis as unknown as {
        document: { createElement(tag: string): Element; querySelector(selector: string): Element | null; body: Element };
        Image: new () => { onload: () => void; onerror: () => void; src: string };
      };
      const results: Array<{ what: string; outcome: string }> = [];
      const spec = JSON.stringify({ process_name: names.evil, container: { image_uri: names.image, command: ['sleep', '300'] } });
      const attempt = async (what: string, go: () => Promise<string>) => {
        try {
          results.push({ what, outcome: await go() });
        } catch (error) {
          results.push({ what, outcome: `error: ${(error as Error).message}` });
        }
      };
      const read = async (response: Response) => `${response.type} ${response.status} ${await response.text()}`;
      await attempt('start: fetch with JSON', async () =>
        read(await fetch(`${base}/process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: spec })),
      );
      await attempt('start: simple request (no-cors, text/plain)', async () =>
        read(await fetch(`${base}/process`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: spec })),
      );
      await attempt('start: form POST', async () => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = `${base}/process`;
        form.enctype = 'text/plain';
        form.target = 'sink';
        // text/plain sends name=value: the name carries the JSON up to a string that swallows the '='.
        const input = document.createElement('input');
        input.name = spec.slice(0, -1) + ', "x": "';
        input.value = '"}';
        form.append(input);
        document.body.append(form);
        const loaded = new Promise<void>((resolve) =>
          document.querySelector('iframe')!.addEventListener('load', () => resolve(), { once: true }),
        );
        form.submit();
        await Promise.race([loaded, new Promise((r) => setTimeout(r, 3000))]);
        return 'submitted';
      });
      await attempt('stop: fetch DELETE', async () => read(await fetch(`${base}/process/${names.victim}`, { method: 'DELETE' })));
      await attempt('stop group: fetch DELETE', async () => read(await fetch(`${base}/group/${names.group}`, { method: 'DELETE' })));
      await attempt('list: fetch', async () => read(await fetch(`${base}/process`)));
      await attempt('get: fetch', async () => read(await fetch(`${base}/process/${names.victim}`)));
      await attempt('logs: fetch', async () => read(await fetch(`${base}/process/${names.victim}/logs`)));
      await attempt(
        'img src /process/%2Fx',
        () =>
          new Promise((resolve) => {
            const img = new Image();
            img.onload = () => resolve('loaded');
            img.onerror = () => resolve('error');
            img.src = `${base}/process/%2Fx`;
          }),
      );
      return results;
    },
    { base, names },
  );
}

describe('web pages against a server without an API token', { skip }, () => {
  let server: ServerProcess;
  let browser: Browser;
  const victim = run.name('victim');
  const group = `${run.prefix}g`;
  const servers: Server[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: async () => res.json() };
  };
  /** This run's processes, as the API lists them. */
  const ours = async () =>
    ((await (await api('GET', '/process')).json()) as Array<{ process_name: string; status: string }>).filter((p) =>
      p.process_name.startsWith(run.prefix),
    );

  /** What a page tried must have left everything as it was. */
  const assertNothingHappened = async (evil: string, attempts: Attempt[]) => {
    assert.equal((await fetch(`${server.url}/health`)).status, 200, server.output());
    assert.deepEqual(await run.docker.listContainers({ all: true, filters: { name: [evil] } }), [], 'no container was created');
    const list = await ours();
    assert.deepEqual(
      list.map((p) => [p.process_name, p.status]),
      [[victim, 'RUNNING']],
      'the list is unchanged',
    );
    for (const a of attempts) {
      // Nothing the page could read names the victim or shows its log.
      assert.doesNotMatch(a.outcome, new RegExp(`${victim}|victim-says`), `${a.what}: ${a.outcome}`);
      assert.notEqual(a.outcome, 'loaded', a.what);
    }
  };

  before(async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
    server = await startServerProcess(['-c', config]);
    const res = await api('POST', '/process', {
      process_name: victim,
      group,
      container: { image_uri: TEST_IMAGE, command: ['sh', '-c', 'echo victim-says-secret; exec sleep 600'] },
    });
    assert.equal(res.status, 201, JSON.stringify(await res.json()));
    browser = await launchChromium([`--host-resolver-rules=MAP ${EVIL} 127.0.0.1`]);
  });
  after(async () => {
    await browser?.close();
    for (const s of servers) s.close();
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  for (const where of [EVIL, '127.0.0.1', 'localhost']) {
    it(`a page at http://${where}:<another port> can neither start, stop nor read anything`, async () => {
      const attacker = await attackerServer();
      servers.push(attacker.server);
      const page = await browser.newPage();
      await page.goto(`http://${where}:${attacker.port}/attack`);
      const evil = run.name('evil');
      const logged = server.output().length;
      const attempts = await attack(page, server.url, { evil, victim, group, image: TEST_IMAGE });
      await page.close();
      assert.equal(attempts.length, 9, JSON.stringify(attempts));
      // The server saw every attempt (and the browser's preflights) and refused each one. Its log
      // of the last ones may still be on the way when the page has its answers.
      const requestsLogged = (output: string) =>
        output
          .slice(logged)
          .split('\n')
          .slice(0, -1) // a line still being written
          .filter((line) => line.includes('"msg":"request"'))
          .map((line) => JSON.parse(line) as { method: string; path: string; status: number });
      const seen = requestsLogged(await server.waitForOutput((output) => requestsLogged(output).length >= attempts.length));
      for (const r of seen) assert.equal(r.status, 403, JSON.stringify(r));
      await assertNothingHappened(evil, attempts);
    });
  }

  it('a page on a rebinding name, whose requests reach the server with its Host, is answered 421 for everything', async () => {
    const port = new URL(server.url).port;
    const attacker = await attackerServer(Number(port));
    servers.push(attacker.server);
    const page = await browser.newPage();
    await page.goto(`http://${EVIL}:${attacker.port}/attack`);
    const evil = run.name('evil');
    // Same origin as the page: the browser lets it read every answer.
    const attempts = await attack(page, '', { evil, victim, group, image: TEST_IMAGE });
    await page.close();
    await assertNothingHappened(evil, attempts);
    const reached = attacker.forwarded.filter((f) => f.path.startsWith('/process') || f.path.startsWith('/group'));
    assert.ok(reached.length >= 8, JSON.stringify(attacker.forwarded));
    for (const f of reached) {
      assert.equal(f.host, `${EVIL}:${attacker.port}`);
      assert.equal(f.status, 421, JSON.stringify(f));
    }
    for (const a of attempts.filter((a) => a.what.includes('fetch'))) assert.match(a.outcome, /^basic 421 /, `${a.what}: ${a.outcome}`);
  });

  it('the dashboard at http://127.0.0.1:<port>/ still lists the processes', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(server.url);
    await page.locator(`tr[data-process="${victim}"]`).locator('.badge', { hasText: 'RUNNING' }).waitFor({ timeout: 20_000 });
    await page.locator(`tr[data-process="${victim}"]`).getByRole('button', { name: 'Logs' }).click();
    await page
      .getByRole('region', { name: `Logs of ${victim}` })
      .locator('pre')
      .filter({ hasText: 'victim-says-secret' })
      .waitFor({ timeout: 20_000 });
    assert.deepEqual(problems, []);
    await page.close();
  });
});
