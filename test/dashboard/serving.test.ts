// How the server serves the dashboard: the page and its files open without a token (they hold no
// data), the API still guarded, a page saying how to build it when it is not built.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildApp } from '../../src/server/app.ts';
import { DEFAULT_DASHBOARD_ROOT } from '../../src/server/dashboard.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { runOrSkip, unbuilt } from '../support/needs.ts';

const TOKEN = 'dashboard-serving-token';

describe('the dashboard, as served', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hp-dashboard-'));
    await mkdir(join(root, 'assets'));
    await writeFile(
      join(root, 'index.html'),
      '<!doctype html><title>Hydroplane</title><script type="module" src="/dashboard/assets/app-1234.js"></script>',
    );
    await writeFile(join(root, 'assets/app-1234.js'), 'console.log("dashboard")');
  });

  it('serves the page at / and its files under /dashboard/, without a token', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: TOKEN, dashboard: { root } });
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<title>Hydroplane<\/title>/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*connect-src 'self'.*frame-ancestors 'none'/);

    const script = await app.inject({ method: 'GET', url: '/dashboard/assets/app-1234.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.match(String(script.headers['cache-control']), /immutable/);
    assert.equal((await app.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
    const index = await app.inject({ method: 'GET', url: '/dashboard/' });
    assert.equal(index.body, page.body);
    assert.equal(index.headers['content-security-policy'], page.headers['content-security-policy']);

    // A missing file is the API's 404, not a 401 that would suggest a token helps.
    const missing = await app.inject({ method: 'GET', url: '/dashboard/assets/nope.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'route_not_found');
    const escape = await app.inject({ method: 'GET', url: '/dashboard/..%2f..%2fpackage.json' });
    assert.ok(escape.statusCode >= 400 && escape.statusCode < 500, String(escape.statusCode));
    assert.doesNotMatch(escape.body, /"dependencies"/);
  });

  it('says whether the API needs a token, and guards the API all the same', async () => {
    const guarded = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: TOKEN, version: '1.2.3', dashboard: { root } });
    const config = await guarded.inject({ method: 'GET', url: '/dashboard/config' });
    assert.equal(config.statusCode, 200);
    assert.deepEqual(config.json(), { auth: 'token', version: '1.2.3' });
    assert.doesNotMatch(config.body, new RegExp(TOKEN));
    for (const url of ['/process', '/group/g', '/dashboard', '/index.html']) {
      assert.equal((await guarded.inject({ method: 'GET', url })).statusCode, 401, url);
    }
    assert.equal((await guarded.inject({ method: 'DELETE', url: '/process/a' })).statusCode, 401);

    const open = await buildApp({ runtime: new FakeRuntime(), logger: false, version: '1.2.3', dashboard: { root } });
    assert.deepEqual((await open.inject({ method: 'GET', url: '/dashboard/config' })).json(), { auth: 'none', version: '1.2.3' });
  });

  it('answers a page saying how to build it when it is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'hp-dashboard-empty-'));
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: TOKEN, dashboard: { root: empty } });
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /npm run build/);
    assert.equal((await app.inject({ method: 'GET', url: '/dashboard/config' })).statusCode, 200);
  });

  it('can be left out', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, dashboard: false });
    for (const url of ['/', '/dashboard/config']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().code, 'route_not_found');
    }
  });

  it('serves the built dashboard, whose page loads only files of this server', async (t) => {
    if (!runOrSkip(t, 'built dashboard test', [unbuilt(join(DEFAULT_DASHBOARD_ROOT, 'index.html'))])) return;
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    const html = (await app.inject({ method: 'GET', url: '/' })).body;
    assert.equal(html, await readFile(join(DEFAULT_DASHBOARD_ROOT, 'index.html'), 'utf8'));
    const references = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(references.some((r) => r.endsWith('.js')) && references.some((r) => r.endsWith('.css')), references.join(' '));
    for (const reference of references) {
      if (reference.startsWith('data:')) continue;
      assert.match(reference, /^\/dashboard\/assets\//);
      assert.equal((await app.inject({ method: 'GET', url: reference })).statusCode, 200, reference);
    }
  });
});
