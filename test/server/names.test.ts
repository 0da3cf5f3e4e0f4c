// Names and query parameters from hostile URLs: generated paths and queries on every route that
// takes one, through the whole app. Whatever comes, the answer is 2xx or 4xx in the error shape,
// and no name that no runtime can hold ever reaches the runtime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Runtime, RuntimeType } from '../../src/runtimes/runtime.ts';
import { buildApp } from '../../src/server/app.ts';
import { SINCE_AHEAD_MAX_MS } from '../../src/server/routes/logs.ts';
import { STORED_NAME, STORED_NAME_MAX } from '../../src/spec/names.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

interface Call {
  method: string;
  args: unknown[];
}

/** The fake runtime behind a proxy that records every call. */
function recorded(inner: FakeRuntime, type: RuntimeType = 'docker'): { runtime: Runtime; calls: Call[] } {
  const calls: Call[] = [];
  const runtime = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'type') return type;
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(key), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { runtime, calls };
}

async function setup(type?: RuntimeType) {
  const fake = new FakeRuntime();
  await fake.start({ process_name: 'p', group: 'g', has_public_ip: false, container: { image_uri: 'busybox', ports: [] } } as never);
  fake.setLog('p', 'one\ntwo\n');
  // An ended process: a follow or a wait answers at once.
  fake.exit('p', 0);
  const { runtime, calls } = recorded(fake, type);
  const app = await buildApp({ runtime, logger: false, dashboard: false });
  return { app, calls };
}

const holdable = (name: unknown) => typeof name === 'string' && name.length <= STORED_NAME_MAX && STORED_NAME.test(name);

// Pieces of a path segment: encoded and raw separators, dots, escapes, NUL and other controls,
// unicode (and broken UTF-8), and names that are almost valid.
const piece = fc.oneof(
  fc.constantFrom(
    '%2F',
    '%2f',
    '/',
    '.',
    '..',
    '%2E',
    '%2e%2e',
    '%25',
    '%',
    '%%',
    '?',
    '%3F',
    '#',
    '%23',
    '\\',
    '%5C',
    '%00',
    '%0A',
    '%0D',
    '%09',
    '%1B',
    '%7F',
    '%C2%85',
    '%C3%A9',
    '%E2%80%AE',
    '%ZZ',
    '%C0%AF',
    '%FF',
    '%20',
    '+',
    ';',
    ',',
    '=',
    '!',
    '(',
    '*',
    '~',
    ':',
    '@',
    '&',
    '"',
    "'",
    '<',
    '`',
    'a',
    'Z',
    '0',
    '-',
    '_',
    'web',
    'containers',
    'json',
    'some-host',
    'é',
    '日本',
    '\u202e',
  ),
  fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent),
  fc.constantFrom(500, 253, 254, 300, 2000).map((n) => 'a'.repeat(n)),
);
const segment = fc.array(piece, { minLength: 0, maxLength: 12 }).map((parts) => parts.join(''));

const routes = [
  (s: string) => ({ method: 'GET' as const, url: `/process/${s}` }),
  (s: string) => ({ method: 'DELETE' as const, url: `/process/${s}` }),
  (s: string) => ({ method: 'GET' as const, url: `/process/${s}/logs` }),
  (s: string) => ({ method: 'GET' as const, url: `/process/${s}?wait=running&timeout=0` }),
  (s: string) => ({ method: 'GET' as const, url: `/group/${s}` }),
  (s: string) => ({ method: 'DELETE' as const, url: `/group/${s}` }),
];

function assertErrorShape(status: number, body: string, what: string): void {
  const parsed = JSON.parse(body) as { error: unknown; details: unknown };
  assert.equal(parsed.error, status, what);
  assert.equal(typeof parsed.details, 'string', what);
  assert.ok((parsed.details as string).length <= 600, `${what}: a short message`);
  // The message quotes the name escaped: no raw control characters.
  assert.doesNotMatch(parsed.details as string, /[\u0000-\u001f\u007f]/, what);
}

describe('names from the path', () => {
  it('answer 2xx or 4xx in the error shape, and only holdable names reach the runtime', async () => {
    const { app, calls } = await setup();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: routes.length - 1 }), segment, async (route, s) => {
        calls.length = 0;
        const request = routes[route]!(s);
        const res = await app.inject(request);
        const what = `${request.method} ${request.url} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        assert.ok((res.statusCode >= 200 && res.statusCode < 300) || (res.statusCode >= 400 && res.statusCode < 500), what);
        if (res.statusCode >= 400) assertErrorShape(res.statusCode, res.body, what);
        for (const call of calls) {
          const name = call.method === 'list' ? (call.args[0] as { group?: string } | undefined)?.group : call.args[0];
          if (call.method === 'list' && name === undefined) continue;
          assert.ok(holdable(name), `${what}: the runtime's ${call.method} got ${JSON.stringify(name)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a process name that no runtime can hold is 404 process_not_found, naming the rule, without a runtime call', async () => {
    const { app, calls } = await setup();
    const bad = fc
      .oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.constantFrom('../containers/json', '/some-host/x', '.', '..', '-x', '_x', '.x', 'a b', 'a/b', 'a\u0000b', 'é', 'a'.repeat(254)),
      )
      .filter((n) => !holdable(n) && n !== '.' && n !== '..');
    await fc.assert(
      fc.asyncProperty(bad, fc.constantFrom('GET', 'DELETE', 'LOGS'), async (name, how) => {
        calls.length = 0;
        const encoded = encodeURIComponent(name);
        const url = how === 'LOGS' ? `/process/${encoded}/logs` : `/process/${encoded}`;
        const res = await app.inject({ method: how === 'DELETE' ? 'DELETE' : 'GET', url });
        const what = `${how} ${url} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        assert.equal(res.statusCode, 404, what);
        assert.equal(res.json().code, 'process_not_found', what);
        assert.match(
          res.json().details,
          /letters, digits, '_', '\.' and '-', starting with a letter or digit, at most 253 characters/,
          what,
        );
        assert.deepEqual(calls, [], what);
      }),
      { numRuns: 500 },
    );
  });

  it('names of either runtime stay reachable: Docker names with _ and . and capitals, one-character and 253-character names', async () => {
    const { app, calls } = await setup();
    for (const name of ['Web_1.old', 'a', 'x'.repeat(253), 'p']) {
      calls.length = 0;
      const res = await app.inject({ method: 'GET', url: `/process/${name}` });
      assert.equal(res.statusCode, name === 'p' ? 200 : 404, name);
      assert.deepEqual(
        calls.map((c) => [c.method, c.args[0]]),
        [['get', name]],
      );
    }
  });

  it('a group that no runtime can hold is 400 invalid_request naming the group, without a runtime call', async () => {
    const { app, calls } = await setup();
    for (const group of ['a,b', 'a=b', 'g!', ' g', '-g', 'g h', 'a'.repeat(254), 'é']) {
      for (const method of ['GET', 'DELETE'] as const) {
        calls.length = 0;
        const res = await app.inject({ method, url: `/group/${encodeURIComponent(group)}` });
        assert.equal(res.statusCode, 400, `${method} ${group}: ${res.body}`);
        assert.equal(res.json().code, 'invalid_request');
        assert.match(res.json().details, /group/);
        assert.deepEqual(calls, []);
      }
    }
  });

  it('a looser group of an older server is asked of Docker, and is [] without a call on Kubernetes', async () => {
    for (const type of ['docker', 'kubernetes'] as const) {
      const { app, calls } = await setup(type);
      for (const group of ['g-', 'a'.repeat(100), 'g_']) {
        calls.length = 0;
        const res = await app.inject({ method: 'GET', url: `/group/${group}` });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), []);
        assert.equal(calls.length, type === 'docker' ? 1 : 0, `${type} ${group}`);
        const stop = await app.inject({ method: 'DELETE', url: `/group/${group}` });
        assert.deepEqual(stop.json(), { stopped: [] });
      }
    }
  });

  it('documents the name and group rules as patterns in the OpenAPI document', async () => {
    const { app } = await setup();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const param = (path: string, method: string) => doc.paths[path][method].parameters.find((p: { in: string }) => p.in === 'path');
    for (const [path, method] of [
      ['/process/{process_name}', 'get'],
      ['/process/{process_name}', 'delete'],
      ['/process/{process_name}/logs', 'get'],
      ['/group/{group}', 'get'],
      ['/group/{group}', 'delete'],
    ] as const) {
      const schema = param(path, method).schema;
      assert.equal(schema.pattern, STORED_NAME.source, `${method} ${path}`);
      assert.equal(schema.maxLength, STORED_NAME_MAX, `${method} ${path}`);
    }
  });
});

const QUERY_NAMES = ['since', 'tail', 'follow', 'timestamps', 'wait', 'timeout'];
const value = fc.oneof(
  fc.constantFrom(
    '99999999999d',
    '1e400',
    '9'.repeat(400),
    '-1',
    '0',
    '1.5',
    'true',
    'false',
    'running',
    '300',
    '301',
    '300.0001',
    'NaN',
    'Infinity',
    '0000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '9999-12-31T23:59:59Z',
    '2026-11-27T10:00:00+02:00',
    '2026-13-45T10:00:00Z',
    '10m',
    '2h',
    '1d',
    '1.5d',
    '%00',
    '%0A',
    '%25',
    '%ZZ',
    '%26tail%3D1',
    '',
    '%C3%A9',
    '\u202e',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }).map(encodeURIComponent),
  fc.nat().map(String),
);

describe('query parameters', () => {
  it('a bad value is 400 naming the parameter; a good one reaches the runtime in range', async () => {
    const { app, calls } = await setup();
    const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES, 'other'), value), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/process/p/logs', '/process/p'), query, async (path, pairs) => {
        calls.length = 0;
        const url = `${path}?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
        const before = Date.now();
        const res = await app.inject({ method: 'GET', url });
        const what = `GET ${url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        assert.ok(res.statusCode === 200 || res.statusCode === 400, what);
        if (res.statusCode === 400) {
          assertErrorShape(400, res.body, what);
          assert.equal(res.json().code, 'invalid_request', what);
          assert.ok(
            [...QUERY_NAMES, 'other'].some((name) => res.json().details.includes(name)),
            `${what}: names the parameter`,
          );
          return;
        }
        const logs = calls.find((c) => c.method === 'logs');
        if (!logs) return;
        const options = logs.args[1] as { since?: Date; tail?: number };
        if (options.since !== undefined) {
          assert.ok(!Number.isNaN(options.since.getTime()), what);
          assert.ok(options.since.getTime() >= 0 && options.since.getTime() <= Date.now() + SINCE_AHEAD_MAX_MS, what);
          assert.ok(options.since.getTime() <= before + SINCE_AHEAD_MAX_MS, what);
        }
        if (options.tail !== undefined) assert.ok(Number.isSafeInteger(options.tail) && options.tail >= 0, what);
      }),
      { numRuns: 2000 },
    );
  });

  it('since: far back is the whole log, far ahead is 400', async () => {
    const { app, calls } = await setup();
    for (const since of ['99999999999d', '0000-01-01T00:00:00Z', '9'.repeat(400)]) {
      calls.length = 0;
      const res = await app.inject({ method: 'GET', url: `/process/p/logs?since=${since}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.body, 'one\ntwo\n');
      assert.equal((calls.find((c) => c.method === 'logs')!.args[1] as { since: Date }).since.getTime(), 0);
    }
    const ahead = new Date(Date.now() + 2 * SINCE_AHEAD_MAX_MS).toISOString();
    for (const since of ['9999-12-31T23:59:59Z', ahead]) {
      calls.length = 0;
      const res = await app.inject({ method: 'GET', url: `/process/p/logs?since=${since}` });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().details, /since: is more than a day ahead/);
      assert.deepEqual(calls, []);
    }
  });
});
