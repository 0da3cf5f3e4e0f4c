// Host and Origin checks through the whole app: which requests a browser could have been tricked
// into sending are refused before anything happens, and which programs' requests still pass.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildApp, type AppOptions } from '../../src/server/app.ts';
import { isLoopbackHost } from '../../src/server/loopback.ts';
import { splitHost } from '../../src/server/request-origin.ts';
import { ServerConfig } from '../../src/config/schema.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const PORT = 8000;
const TOKEN = 'origin-test-token';

async function setup(options: Partial<AppOptions> = {}) {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, dashboard: false, port: PORT, ...options });
  return { runtime, app };
}

const spec = (name: string) => ({ process_name: name, container: { image_uri: 'busybox' } });

/** Tries to start a process with these headers; returns the answer and whether it was started. */
async function tryStart(
  app: Awaited<ReturnType<typeof setup>>['app'],
  runtime: FakeRuntime,
  headers: Record<string, string>,
  name = 'web',
) {
  const res = await app.inject({ method: 'POST', url: '/process', payload: spec(name), headers });
  return { res, started: runtime.processes.has(name) };
}

describe('Host, without an API token', () => {
  it('serves loopback names on the server port', async () => {
    const { app, runtime } = await setup();
    for (const host of ['127.0.0.1:8000', 'localhost:8000', 'LOCALHOST:8000', '[::1]:8000', '127.8.9.10:8000']) {
      runtime.processes.clear();
      const { res, started } = await tryStart(app, runtime, { host });
      assert.equal(res.statusCode, 201, `${host}: ${res.body}`);
      assert.ok(started);
    }
  });

  it('answers any other Host 421 in the error shape, and does nothing', async () => {
    const { app, runtime } = await setup();
    for (const host of [
      'evil.test:8000',
      'evil.test',
      '127.0.0.1:9000',
      '127.0.0.1',
      'localhost',
      'localhost.:8000',
      '127.0.0.256:8000',
      '0.0.0.0:8000',
      '10.0.0.5:8000',
      '[::2]:8000',
      'a@127.0.0.1:8000',
      '127.0.0.1:8000:1',
      '',
    ]) {
      const { res, started } = await tryStart(app, runtime, { host });
      assert.equal(res.statusCode, 421, `${host}: ${res.body}`);
      assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'details', 'error']);
      assert.equal(res.json().code, 'misdirected_request');
      assert.equal(started, false, host);
      for (const [method, url] of [
        ['GET', '/process'],
        ['GET', '/process/web/logs'],
        ['DELETE', '/group/g'],
        ['GET', '/metrics'],
        ['GET', '/openapi.json'],
      ] as const) {
        assert.equal((await app.inject({ method, url, headers: { host } })).statusCode, 421, `${host} ${method} ${url}`);
      }
    }
  });

  it('serves the names of allowed_hosts: "name" on any port, "name:port" on that port only', async () => {
    const { app, runtime } = await setup({ allowedHosts: ['hydro.internal', 'Box.Example:8443', '[fd00::5]'] });
    const cases: Array<[string, number]> = [
      ['hydro.internal', 201],
      ['hydro.internal:8000', 201],
      ['HYDRO.internal:1234', 201],
      ['box.example:8443', 201],
      ['box.example', 421],
      ['box.example:8000', 421],
      ['[fd00::5]:8000', 201],
      ['other.internal:8000', 421],
      ['hydro.internal.evil.test', 421],
    ];
    for (const [host, status] of cases) {
      runtime.processes.clear();
      const { res, started } = await tryStart(app, runtime, { host });
      assert.equal(res.statusCode, status, `${host}: ${res.body}`);
      assert.equal(started, status === 201, host);
    }
  });

  it('leaves /health open to probes, whatever their Host', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'GET', url: '/health', headers: { host: '10.1.2.3:8000' } });
    assert.equal(res.statusCode, 200);
  });

  it('serves an HTTP/1.0 request without Host (no browser sends one), and holds a real connection to its own port', async () => {
    const { app, runtime } = await setup({ port: undefined });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => socket.end(request));
          let answer = '';
          socket.on('data', (d) => (answer += d));
          socket.on('end', () => resolve(answer));
          socket.on('error', reject);
        });
      runtime.processes.clear();
      assert.match(await raw('GET /process HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /);
      assert.match(await raw(`GET /process HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`), /^HTTP\/1\.1 200 /);
      assert.match(await raw(`GET /process HTTP/1.0\r\nHost: 127.0.0.1:${port + 1}\r\n\r\n`), /^HTTP\/1\.1 421 /);
      assert.match(await raw(`GET /process HTTP/1.0\r\nHost: evil.test:${port}\r\n\r\n`), /^HTTP\/1\.1 421 /);
      // Node keeps the first of two Host headers, and routes an absolute-form target by its path:
      // neither may decide which Host is checked.
      assert.match(
        await raw(`GET /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: evil.test\r\nConnection: close\r\n\r\n`),
        /^HTTP\/1\.1 400 [^]*2 Host headers/,
      );
      assert.match(
        await raw(`GET http://evil.test/process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
        /^HTTP\/1\.1 400 [^]*must be a path/,
      );
      const start = `POST http://evil.test/process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nConnection: close\r\n`;
      const body = JSON.stringify(spec('absolute'));
      assert.match(await raw(`${start}Content-Length: ${body.length}\r\n\r\n${body}`), /^HTTP\/1\.1 400 /);
      assert.equal(runtime.processes.has('absolute'), false);
    } finally {
      await app.close();
    }
  });

  it('with an API token, any Host is served (the token is the gate)', async () => {
    const { app, runtime } = await setup({ apiToken: TOKEN });
    const { res, started } = await tryStart(app, runtime, { host: 'hydro.example.com', authorization: `Bearer ${TOKEN}` });
    assert.equal(res.statusCode, 201, res.body);
    assert.ok(started);
    assert.equal((await tryStart(app, runtime, { host: 'hydro.example.com' }, 'other')).res.statusCode, 401);
  });

  it('a generated Host is served only when it names loopback on the port or an allowed name, and otherwise nothing starts', async () => {
    const { app, runtime } = await setup({ allowedHosts: ['hydro.internal'] });
    const host = fc.oneof(
      fc.constantFrom(
        '127.0.0.1',
        'localhost',
        '[::1]',
        '127.1.2.3',
        'hydro.internal',
        'evil.test',
        '127.0.0.1.nip.io',
        'localhost.evil.test',
        '0x7f.1',
        '2130706433',
        '[::ffff:127.0.0.1]',
        '%31%32%37.0.0.1',
      ),
      fc.string({ maxLength: 20 }),
    );
    const port = fc.oneof(fc.constant(''), fc.constantFrom(':8000', ':80', ':8001', ':', ':08000', ':99999'));
    await fc.assert(
      fc.asyncProperty(host, port, async (name, p) => {
        runtime.processes.clear();
        const value = `${name}${p}`;
        let res;
        try {
          res = await app.inject({ method: 'POST', url: '/process', payload: spec('web'), headers: { host: value } });
        } catch {
          return; // a header value that no HTTP message can carry
        }
        const parts = splitHost(value);
        const served =
          parts !== undefined && ((isLoopbackHost(parts.name) && (parts.port ?? 80) === PORT) || parts.name === 'hydro.internal');
        assert.equal(res.statusCode, served ? 201 : 421, `${JSON.stringify(value)}: ${res.body}`);
        assert.equal(runtime.processes.has('web'), served, JSON.stringify(value));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('requests a browser marks as cross-site', () => {
  const own = { host: '127.0.0.1:8000' };
  const refused: Array<Record<string, string>> = [
    { origin: 'http://evil.test:8000' },
    { origin: 'http://127.0.0.1:9000' },
    { origin: 'http://localhost:8000' },
    { origin: 'null' },
    { origin: 'http://127.0.0.1:8000/path' },
    { origin: 'file://' },
    { origin: 'not a url' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'cross-site' },
    // Two headers joined into one by Node, or a value no browser sends.
    { 'sec-fetch-site': 'cross-site, same-origin' },
    { 'sec-fetch-site': 'whatever' },
  ];

  for (const apiToken of [undefined, TOKEN]) {
    it(`are refused 403 on every API route, and nothing happens (${apiToken ? 'with' : 'without'} a token)`, async () => {
      const { app, runtime } = await setup(apiToken ? { apiToken } : {});
      const auth: Record<string, string> = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
      await runtime.start({
        process_name: 'keep',
        group: 'g',
        has_public_ip: false,
        container: { image_uri: 'busybox', ports: [] },
      } as never);
      for (const headers of refused) {
        const all = { ...own, ...auth, ...headers };
        const { res, started } = await tryStart(app, runtime, all);
        assert.equal(res.statusCode, 403, `${JSON.stringify(headers)}: ${res.body}`);
        assert.equal(res.json().code, 'cross_site_request');
        assert.equal(started, false);
        // A simple request: text/plain, as a no-cors fetch or a form may send.
        const simple = await app.inject({
          method: 'POST',
          url: '/process',
          payload: JSON.stringify(spec('web')),
          headers: { ...all, 'content-type': 'text/plain' },
        });
        assert.equal(simple.statusCode, 403);
        // The declarative apply changes nothing either, with a JSON or a simple body.
        for (const contentType of ['application/json', 'text/plain']) {
          const put = await app.inject({
            method: 'PUT',
            url: '/process/keep',
            payload: JSON.stringify({ ...spec('keep'), container: { image_uri: 'evil' } }),
            headers: { ...all, 'content-type': contentType },
          });
          assert.equal(put.statusCode, 403, `${JSON.stringify(headers)} PUT ${contentType}`);
          assert.equal(runtime.specs.get('keep')?.container.image_uri, 'busybox', 'the process was not replaced');
        }
        for (const [method, url] of [
          ['GET', '/events'],
          ['GET', '/events?group=g'],
          ['GET', '/process'],
          ['GET', '/process/keep'],
          ['GET', '/process/keep/logs'],
          ['DELETE', '/process/keep'],
          ['GET', '/group/g'],
          ['DELETE', '/group/g'],
          ['GET', '/metrics'],
          ['GET', '/nowhere'],
        ] as const) {
          const answer = await app.inject({ method, url, headers: all });
          assert.equal(answer.statusCode, 403, `${JSON.stringify(headers)} ${method} ${url}`);
        }
        assert.ok(runtime.processes.has('keep'), 'nothing was stopped');
      }
    });
  }

  it('same-origin requests, https behind a proxy, and programs that send neither header are served', async () => {
    const { app, runtime } = await setup({ allowedHosts: ['hydro.example.com'] });
    const served: Array<Record<string, string>> = [
      own,
      { ...own, origin: 'http://127.0.0.1:8000' },
      { ...own, origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin' },
      { ...own, 'sec-fetch-site': 'none' },
      { host: 'hydro.example.com', origin: 'https://hydro.example.com' },
      { host: 'hydro.example.com:443', origin: 'https://hydro.example.com' },
      { host: 'hydro.example.com:80', origin: 'http://hydro.example.com' },
    ];
    for (const headers of served) {
      runtime.processes.clear();
      const { res, started } = await tryStart(app, runtime, headers);
      assert.equal(res.statusCode, 201, `${JSON.stringify(headers)}: ${res.body}`);
      assert.ok(started);
    }
    // Scheme and port must both match, when Origin is all that a browser sends.
    runtime.processes.clear();
    assert.equal(
      (await tryStart(app, runtime, { host: 'hydro.example.com:8443', origin: 'https://hydro.example.com' })).res.statusCode,
      403,
    );
  });

  it("behind a proxy that rewrites Host to loopback, the browser's same-origin request of its own page is served", async () => {
    // nginx's proxy_pass http://127.0.0.1:8000 sends Host 127.0.0.1:8000; the page is at https://hp.example.com.
    const { app, runtime } = await setup({ apiToken: TOKEN });
    const proxied = { host: '127.0.0.1:8000', origin: 'https://hp.example.com', authorization: `Bearer ${TOKEN}` };
    const { res, started } = await tryStart(app, runtime, { ...proxied, 'sec-fetch-site': 'same-origin' });
    assert.equal(res.statusCode, 201, res.body);
    assert.ok(started);
    const stop = await app.inject({ method: 'DELETE', url: '/process/web', headers: { ...proxied, 'sec-fetch-site': 'same-origin' } });
    assert.equal(stop.statusCode, 200, stop.body);
    // The same page's request on another site's behalf is still refused.
    runtime.processes.clear();
    assert.equal(
      (await tryStart(app, runtime, { ...proxied, origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' })).res.statusCode,
      403,
    );
  });

  it('pages that hold no data, and /health, still open from a link on another site', async () => {
    const { app } = await setup();
    for (const url of ['/health', '/openapi.json', '/docs']) {
      const res = await app.inject({ method: 'GET', url, headers: { ...own, 'sec-fetch-site': 'cross-site' } });
      assert.ok(res.statusCode < 400, `${url}: ${res.statusCode}`);
    }
  });
});

describe('allowed_hosts in the config', () => {
  it('takes names and name:port, and refuses anything else', () => {
    const base = { runtime: { runtime_type: 'docker' } };
    assert.deepEqual(ServerConfig.parse(base).allowed_hosts, []);
    assert.deepEqual(ServerConfig.parse({ ...base, allowed_hosts: ['hydro.internal', '10.0.0.5:8000', '[fd00::5]:80'] }).allowed_hosts, [
      'hydro.internal',
      '10.0.0.5:8000',
      '[fd00::5]:80',
    ]);
    for (const bad of ['http://hydro.internal', 'hydro.internal/', '*.internal', 'a b', '', 'host:port', '-x.internal']) {
      assert.equal(ServerConfig.safeParse({ ...base, allowed_hosts: [bad] }).success, false, bad);
    }
  });
});
