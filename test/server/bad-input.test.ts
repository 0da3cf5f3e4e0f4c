// A corpus of bad requests: each is answered 4xx in the error shape, none 5xx, nothing created.
// Then properties over generated specs: the server answers 201 or 422 and nothing else, and
// what it reports is what it was given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const ok = { process_name: 'web', container: { image_uri: 'nginx' } };

const corpus: Array<{ what: string; method?: 'POST' | 'GET' | 'DELETE' | 'PUT'; url?: string; body?: string; contentType?: string }> = [
  { what: 'malformed JSON', body: '{"process_name": "web", ' },
  { what: 'a trailing comma', body: '{"process_name": "web",}' },
  { what: 'an empty body', body: '' },
  { what: 'null', body: 'null' },
  { what: 'an array', body: '[]' },
  { what: 'a string', body: '"web"' },
  { what: 'a number', body: '42' },
  { what: 'no container', body: '{"process_name": "web"}' },
  { what: 'a numeric name', body: '{"process_name": 12, "container": {"image_uri": "nginx"}}' },
  { what: 'a boolean port', body: '{"process_name": "web", "container": {"image_uri": "nginx", "ports": [{"container_port": true}]}}' },
  {
    what: 'a port above range',
    body: '{"process_name": "web", "container": {"image_uri": "nginx", "ports": [{"container_port": 70000}]}}',
  },
  {
    what: 'a huge numeric string',
    body: `{"process_name": "web", "container": {"image_uri": "nginx", "ports": [{"container_port": "${'9'.repeat(400)}"}]}}`,
  },
  { what: 'an exponent port', body: '{"process_name": "web", "container": {"image_uri": "nginx", "ports": [{"container_port": 1e400}]}}' },
  { what: 'a negative memory', body: '{"process_name": "web", "container": {"image_uri": "nginx", "resource_limit": {"memory_mib": -1}}}' },
  { what: 'NaN-like cpu', body: '{"process_name": "web", "container": {"image_uri": "nginx", "resource_limit": {"cpu_vcpu": "NaN"}}}' },
  { what: 'an uppercase name', body: '{"process_name": "Web", "container": {"image_uri": "nginx"}}' },
  { what: 'a 64-character name', body: JSON.stringify({ process_name: 'a'.repeat(64), container: { image_uri: 'nginx' } }) },
  { what: 'a unicode name', body: JSON.stringify({ process_name: 'wéb', container: { image_uri: 'nginx' } }) },
  { what: 'a name with a slash', body: JSON.stringify({ process_name: 'a/b', container: { image_uri: 'nginx' } }) },
  { what: 'a NUL in a name', body: JSON.stringify({ process_name: 'a\u0000b', container: { image_uri: 'nginx' } }) },
  { what: 'an image with spaces', body: JSON.stringify({ process_name: 'web', container: { image_uri: 'nginx; rm -rf /' } }) },
  { what: 'an unknown field', url: '/process?fieldValidation=Strict', body: JSON.stringify({ ...ok, colour: 'red' }) },
  { what: '__proto__', body: '{"process_name": "web", "container": {"image_uri": "nginx"}, "__proto__": {"admin": true}}' },
  {
    what: 'constructor.prototype',
    body: '{"process_name": "web", "container": {"image_uri": "nginx"}, "constructor": {"prototype": {"admin": true}}}',
  },
  {
    what: 'deep nesting',
    body: `{"process_name": "web", "container": {"image_uri": "nginx", "env": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
  },
  {
    what: 'a deeply nested env value',
    body: `{"process_name": "web", "container": {"image_uri": "nginx", "env": [{"name": "A", "value": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}}`,
  },
  {
    what: 'too many ports',
    body: JSON.stringify({
      process_name: 'web',
      container: { image_uri: 'nginx', ports: Array.from({ length: 300 }, (_, i) => ({ container_port: i + 1 })) },
    }),
  },
  {
    what: 'too many env entries',
    body: JSON.stringify({
      process_name: 'web',
      container: { image_uri: 'nginx', env: Array.from({ length: 2000 }, (_, i) => ({ name: `V${i}`, value: 'x' })) },
    }),
  },
  {
    what: 'a body over the limit',
    body: JSON.stringify({ ...ok, container: { image_uri: 'nginx', command: ['x'.repeat(2 * 1024 * 1024)] } }),
  },
  { what: 'form data', body: 'process_name=web', contentType: 'application/x-www-form-urlencoded' },
  { what: 'text', body: 'hello', contentType: 'text/plain' },
  { what: 'PUT on /process', method: 'PUT', body: JSON.stringify(ok) },
  { what: 'an encoded slash in a name', method: 'DELETE', url: '/process/..%2F..%2Fetc' },
  { what: 'an encoded NUL in a name', method: 'DELETE', url: '/process/a%00b' },
  { what: 'a bad percent-encoding', method: 'GET', url: '/process/%E0%A4%A' },
  { what: 'a very long name in the path', method: 'GET', url: `/process/${'a'.repeat(5000)}` },
  { what: 'a double slash', method: 'GET', url: '//process' },
  { what: 'a dot segment', method: 'GET', url: '/process/../group' },
];

describe('bad input', () => {
  for (const bad of corpus) {
    it(`answers ${bad.what} with a 4xx in the error shape and creates nothing`, async () => {
      const runtime = new FakeRuntime();
      const app = await buildApp({ runtime, logger: false });
      const res = await app.inject({
        method: bad.method ?? 'POST',
        url: bad.url ?? '/process',
        ...(bad.body === undefined ? {} : { payload: bad.body, headers: { 'content-type': bad.contentType ?? 'application/json' } }),
      });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${bad.what}: got ${res.statusCode} ${res.body.slice(0, 300)}`);
      const body = res.json();
      assert.equal(body.error, res.statusCode);
      assert.equal(typeof body.details, 'string');
      assert.ok(body.details.length > 0 && body.details.length < 20_000, 'a readable message');
      assert.equal(runtime.processes.size, 0);
      assert.equal(({} as Record<string, unknown>)['admin'], undefined, 'no prototype pollution');
    });
  }
});

const name = fc.stringMatching(/^[a-z][-a-z0-9]{0,20}[a-z0-9]$/);
const port = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.integer({ min: 1, max: 65535 }).map(String), fc.constant('x'));
const specArb = fc.record(
  {
    process_name: fc.oneof(name, fc.string({ maxLength: 70 })),
    group: fc.option(fc.oneof(name, fc.string({ maxLength: 70 })), { nil: undefined }),
    has_public_ip: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'yes', 1)),
    container: fc.record(
      {
        image_uri: fc.oneof(
          fc.constantFrom('nginx', 'nginxdemos/hello', 'ghcr.io/org/img:1.0', 'localhost:5000/a/b'),
          fc.string({ maxLength: 30 }),
        ),
        ports: fc.array(
          fc.record(
            {
              container_port: port,
              host_port: fc.option(port, { nil: undefined }),
              protocol: fc.option(fc.constantFrom('tcp', 'udp', 'sctp'), { nil: undefined }),
            },
            { requiredKeys: ['container_port'] },
          ),
          { maxLength: 4 },
        ),
        env: fc.array(
          fc.record({
            name: fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.string({ maxLength: 5 })),
            value: fc.string({ maxLength: 20 }),
          }),
          { maxLength: 4 },
        ),
        command: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
        resource_limit: fc.record(
          {
            cpu_vcpu: fc.oneof(fc.double({ min: -1, max: 64, noNaN: true }), fc.constant('0.5')),
            memory_mib: fc.integer({ min: -5, max: 1 << 20 }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['image_uri'] },
    ),
  },
  { requiredKeys: ['process_name', 'container'] },
);

describe('properties over generated specs', () => {
  it('answers 201 or 422, never anything else, and reports what it was given', async () => {
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false });
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        runtime.processes.clear();
        runtime.specs.clear();
        const res = await app.inject({ method: 'POST', url: '/process', payload: spec });
        assert.ok(res.statusCode === 201 || res.statusCode === 422, `${res.statusCode} ${res.body}`);
        const body = res.json();
        if (res.statusCode === 422) {
          assert.equal(body.error, 422);
          assert.ok(body.fields.length > 0);
          assert.equal(runtime.processes.size, 0);
          return;
        }
        assert.equal(body.process_name, spec.process_name);
        assert.equal(body.group, spec.group ?? null);
        const given = runtime.specs.get(spec.process_name)!;
        assert.equal(given.container.image_uri, spec.container.image_uri);
        assert.deepEqual(
          given.container.ports.map((p) => [p.container_port, p.host_port, p.protocol]),
          (spec.container.ports ?? []).map((p) => [
            Number(p.container_port),
            p.host_port === undefined ? undefined : Number(p.host_port),
            p.protocol ?? 'tcp',
          ]),
        );
        assert.deepEqual(given.container.env, JSON.parse(JSON.stringify(spec.container.env ?? [])));
        assert.equal(given.has_public_ip, spec.has_public_ip === true || spec.has_public_ip === 'true');
      }),
      { numRuns: 400 },
    );
  });

  it('never answers 5xx to arbitrary JSON', async () => {
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false });
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        runtime.processes.clear();
        const res = await app.inject({
          method: 'POST',
          url: '/process',
          payload: JSON.stringify(value),
          headers: { 'content-type': 'application/json' },
        });
        assert.ok(res.statusCode < 500, `${res.statusCode} for ${JSON.stringify(value).slice(0, 200)}`);
        assert.equal(res.json().error ?? res.statusCode, res.statusCode);
      }),
      { numRuns: 300 },
    );
  });
});
