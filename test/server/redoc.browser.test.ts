// /redoc: Redoc reading /openapi.json, served from this server (no CDN), under a page policy;
// in Chromium when there is one, that it renders the document's operations with no policy violation.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildApp } from '../../src/server/app.ts';
import { browserSkip, launchChromium } from '../support/browser.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const skipBrowser = await browserSkip('Redoc browser test');

describe('/redoc', () => {
  it('serves a page that loads Redoc from this server, under a policy that allows nothing from elsewhere', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    const page = await app.inject({ method: 'GET', url: '/redoc' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    const csp = page.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /https?:/, 'no other origin');
    const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(scripts, ['/redoc/redoc.standalone.js', '/redoc/start.js']);
    assert.doesNotMatch(page.body, /<script>|https?:\/\//, 'no inline script, nothing from a CDN');

    const start = await app.inject({ method: 'GET', url: '/redoc/start.js' });
    assert.match(start.body, /Redoc\.init\('\/openapi\.json'/);
    const bundle = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' });
    assert.equal(bundle.statusCode, 200);
    assert.match(bundle.headers['content-type'] as string, /^text\/javascript/);
    const expected = await readFile(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'));
    assert.equal(bundle.rawPayload.length, expected.length);
    assert.equal((await app.inject({ method: 'GET', url: '/redoc/other.js' })).statusCode, 404);
    await app.close();
  });

  it('needs the API token as /docs does, when the server has one', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: 'redoc-token' });
    assert.equal((await app.inject({ method: 'GET', url: '/redoc' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/redoc', headers: { authorization: 'Bearer redoc-token' } })).statusCode, 200);
    await app.close();
  });

  describe('in Chromium', { skip: skipBrowser }, () => {
    let browser: Browser | undefined;
    after(async () => browser?.close());

    it("renders every operation of the document, named by the original's operationIds, within the page policy", async () => {
      const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
      await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        browser = await launchChromium();
        const page = await browser.newPage();
        page.setDefaultTimeout(30_000);
        const problems: string[] = [];
        const elsewhere: string[] = [];
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('console', (message) => {
          // Redoc's "API docs by Redocly" logo is an image on cdn.redoc.ly: the policy keeps it from loading.
          if (message.type() === 'error' && !/Loading the image 'https:\/\/cdn\.redoc\.ly\/[^']*' violates/.test(message.text())) {
            problems.push(`console: ${message.text()}`);
          }
        });
        page.on('response', (response) => {
          if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
        });
        // A request that the policy blocks fails; one that reached another host would finish.
        page.on('requestfinished', (request) => {
          if (!request.url().startsWith(url) && !request.url().startsWith('blob:') && !request.url().startsWith('data:'))
            elsewhere.push(request.url());
        });
        await page.goto(`${url}/redoc`);
        await page.locator('h1', { hasText: 'Hydroplane' }).first().waitFor();
        // Redoc links each operation by its operationId.
        await page.locator('[id="operation/launch_process_process_post"]').waitFor({ state: 'attached' });
        await page.locator('[id="operation/terminate_process_process__process_name__delete"]').waitFor({ state: 'attached' });
        // The request body's fields and the query parameter, from the named components.
        await page.getByText('fieldValidation').first().waitFor({ state: 'attached' });
        await page.getByText('has_public_ip').first().waitFor({ state: 'attached' });
        assert.deepEqual(problems, []);
        assert.deepEqual(elsewhere, []);
      } finally {
        await app.close();
      }
    });
  });
});
