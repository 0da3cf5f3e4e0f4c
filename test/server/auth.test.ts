import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from '../../src/server/loopback.ts';
import { buildApp } from '../../src/server/app.ts';
import { tokenMatches } from '../../src/server/auth.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

describe('API token', () => {
  const token = 's3cret-token-value';

  it('lets requests with the token through, and only those', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: token });
    const none = await app.inject({ method: 'GET', url: '/process' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error, 401);
    assert.match(none.json().details, /Authorization: Bearer/);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.doesNotMatch(none.body, /s3cret/);

    const wrong = await app.inject({ method: 'GET', url: '/process', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().details, 'the API token is not valid');
    const basic = await app.inject({ method: 'GET', url: '/process', headers: { authorization: `Basic ${token}` } });
    assert.equal(basic.statusCode, 401);

    const ok = await app.inject({ method: 'GET', url: '/process', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.statusCode, 200);
    const post = await app.inject({
      method: 'POST',
      url: '/process',
      headers: { authorization: `Bearer ${token}` },
      payload: { process_name: 'a', container: { image_uri: 'nginx' } },
    });
    assert.equal(post.statusCode, 201);
  });

  it('guards every route but the health check, unknown routes and docs included', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: token });
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    for (const [method, url] of [
      ['DELETE', '/process/a'],
      ['GET', '/group/g'],
      ['DELETE', '/group/g'],
      ['GET', '/process/a'],
      ['GET', '/openapi.json'],
      ['GET', '/docs'],
      ['GET', '/nowhere'],
    ] as const) {
      assert.equal((await app.inject({ method, url })).statusCode, 401, `${method} ${url}`);
    }
    const runtime = new FakeRuntime();
    const guarded = await buildApp({ runtime, logger: false, apiToken: token });
    const put = await guarded.inject({
      method: 'PUT',
      url: '/process/a',
      payload: { process_name: 'a', container: { image_uri: 'busybox' } },
    });
    assert.equal(put.statusCode, 401, 'PUT /process/{name}');
    assert.equal(runtime.processes.size, 0, 'nothing was applied');
    assert.equal((await guarded.inject({ method: 'GET', url: '/events' })).statusCode, 401, 'GET /events');
    assert.equal(runtime.openFeeds, 0, 'no feed was opened');
  });

  it('is open without a token configured', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    assert.equal((await app.inject({ method: 'GET', url: '/process' })).statusCode, 200);
  });

  it('compares tokens whatever their lengths', () => {
    assert.equal(tokenMatches('abc', 'abc'), true);
    assert.equal(tokenMatches('abc', 'abcd'), false);
    assert.equal(tokenMatches('abc', ''), false);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.com', '127.0.0.1.example.com'])
      assert.equal(isLoopbackHost(host), false, host);
  });
});
