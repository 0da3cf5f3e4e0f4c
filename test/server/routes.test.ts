import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function setup() {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false });
  return { runtime, app };
}

const spec = (name: string, extra: Record<string, unknown> = {}) => ({
  process_name: name,
  container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80 }] },
  ...extra,
});

describe('routes', () => {
  it('starts a process: 201 with its info, and the runtime gets the validated spec', async () => {
    const { app, runtime } = await setup();
    const res = await app.inject({ method: 'POST', url: '/process', payload: spec('web', { group: 'g1' }) });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(body.process_name, 'web');
    assert.equal(body.group, 'g1');
    assert.equal(body.status, 'RUNNING');
    assert.deepEqual(body.socket_addresses, [{ host: '127.0.0.1', port: 80, is_public: false }]);
    assert.deepEqual(runtime.specs.get('web')?.container.ports, [{ container_port: 80, protocol: 'tcp' }]);
  });

  it('coerces numeric strings as the original did', async () => {
    const { app, runtime } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/process',
      payload: {
        process_name: 'web',
        has_public_ip: 'true',
        container: {
          image_uri: 'nginx',
          ports: [{ container_port: '80', host_port: '8080' }],
          resource_limit: { cpu_vcpu: '0.25', memory_mib: '64' },
        },
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const got = runtime.specs.get('web')!;
    assert.equal(got.has_public_ip, true);
    assert.deepEqual(got.container.ports[0], { container_port: 80, host_port: 8080, protocol: 'tcp' });
    assert.deepEqual(got.container.resource_limit, { cpu_vcpu: 0.25, memory_mib: 64 });
  });

  it('answers an invalid spec 422 in the contract shape, naming every field', async () => {
    const { app, runtime } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/process?fieldValidation=Strict',
      payload: { process_name: 'Bad_Name', node_selector: { a: 'b' }, container: { image_uri: 'nginx', ports: [{ container_port: 0 }] } },
    });
    assert.equal(res.statusCode, 422);
    const body = res.json();
    assert.equal(body.error, 422);
    assert.equal(body.code, 'invalid_spec');
    assert.deepEqual(body.fields.map((f: { path: string }) => f.path).sort(), [
      'container.ports[0].container_port',
      'node_selector',
      'process_name',
    ]);
    assert.match(body.details, /node_selector.*belongs in 'container'/);
    assert.equal(runtime.processes.size, 0);
  });

  it('answers malformed JSON 400 and a huge body 413, in the error shape', async () => {
    const { app } = await setup();
    const bad = await app.inject({
      method: 'POST',
      url: '/process',
      headers: { 'content-type': 'application/json' },
      payload: '{"process_name": ',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 400);
    const huge = await app.inject({
      method: 'POST',
      url: '/process',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(spec('big', { pad: 'x'.repeat(2 * 1024 * 1024) })),
    });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error, 413);
  });

  it('answers 409 for a duplicate and 404 for a missing process', async () => {
    const { app } = await setup();
    assert.equal((await app.inject({ method: 'POST', url: '/process', payload: spec('web') })).statusCode, 201);
    const dup = await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
    assert.equal(dup.statusCode, 409);
    assert.deepEqual(Object.keys(dup.json()).sort(), ['code', 'details', 'error']);
    const missing = await app.inject({ method: 'DELETE', url: '/process/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, 404);
    const getMissing = await app.inject({ method: 'GET', url: '/process/nope' });
    assert.equal(getMissing.statusCode, 404);
  });

  it('lists, gets, stops; groups list and stop only their members', async () => {
    const { app } = await setup();
    for (const [name, group] of [
      ['a1', 'ga'],
      ['a2', 'ga'],
      ['b1', 'gb'],
      ['c1', undefined],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/process', payload: spec(name, group ? { group } : {}) });
      assert.equal(res.statusCode, 201);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/process' })).json().length, 4);
    assert.equal((await app.inject({ method: 'GET', url: '/process/c1' })).json().group, null);
    assert.deepEqual(
      (await app.inject({ method: 'GET', url: '/group/ga' }))
        .json()
        .map((p: { process_name: string }) => p.process_name)
        .sort(),
      ['a1', 'a2'],
    );
    assert.deepEqual((await app.inject({ method: 'GET', url: '/group/unknown' })).json(), []);
    const stopGroup = await app.inject({ method: 'DELETE', url: '/group/ga' });
    assert.equal(stopGroup.statusCode, 200);
    assert.deepEqual(stopGroup.json().stopped.sort(), ['a1', 'a2']);
    assert.deepEqual((await app.inject({ method: 'DELETE', url: '/group/ga' })).json(), { stopped: [] });
    const stop = await app.inject({ method: 'DELETE', url: '/process/b1' });
    assert.equal(stop.statusCode, 200);
    assert.deepEqual(
      (await app.inject({ method: 'GET', url: '/process' })).json().map((p: { process_name: string }) => p.process_name),
      ['c1'],
    );
  });

  it('finds processes whose names the spec rules would refuse (launched by an older server)', async () => {
    const { app, runtime } = await setup();
    runtime.processes.set('Old_Name', {
      process_name: 'Old_Name',
      group: null,
      socket_addresses: [],
      created: new Date().toISOString(),
      status: 'RUNNING',
    });
    assert.equal((await app.inject({ method: 'GET', url: '/process/Old_Name' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'DELETE', url: '/process/Old_Name' })).statusCode, 200);
  });

  it('passes a runtime outage through as 503 with its message', async () => {
    const { app, runtime } = await setup();
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the docker runtime cannot reach its daemon at /var/run/docker.sock');
    const res = await app.inject({ method: 'GET', url: '/process' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), {
      error: 503,
      code: 'runtime_unavailable',
      details: 'the docker runtime cannot reach its daemon at /var/run/docker.sock',
    });
  });

  it('hides internal errors behind a 500 in the error shape', async () => {
    const { app, runtime } = await setup();
    runtime.list = async () => {
      throw new TypeError('boom: secret internals');
    };
    const res = await app.inject({ method: 'GET', url: '/process' });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().error, 500);
    assert.doesNotMatch(res.body, /secret internals/);
  });

  it('answers unknown routes 404 in the error shape', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 404);
  });

  it('serves health and the OpenAPI document', async () => {
    const { app } = await setup();
    assert.deepEqual((await app.inject({ method: 'GET', url: '/health' })).json(), { status: 'ok', runtime: 'docker' });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    const post = doc.paths['/process'].post;
    // The spec is a named component (test/server/openapi.test.ts proves the whole document).
    assert.deepEqual(post.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/ProcessSpec' });
    const body = doc.components.schemas.ProcessSpec;
    assert.ok(body.properties.process_name.description.length > 0);
    assert.deepEqual(body.properties.container, { $ref: '#/components/schemas/ContainerSpec' });
    assert.ok(doc.components.schemas.ContainerSpec.properties.ports);
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/events',
      '/group/{group}',
      '/health',
      '/metrics',
      '/process',
      '/process/{process_name}',
      '/process/{process_name}/logs',
      '/ready',
    ]);
  });

  it('serves Swagger UI at /docs, reading /openapi.json, and only the files its page loads', async () => {
    const { app } = await setup();
    const page = await app.inject({ method: 'GET', url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /script-src 'self';/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.includes('/docs/static/swagger-ui-bundle.js') && assets.includes('/docs/start.js'), page.body);
    for (const url of assets) {
      const asset = await app.inject({ method: 'GET', url });
      assert.equal(asset.statusCode, 200, url);
      assert.ok(asset.rawPayload.length > 0, url);
    }
    assert.match(
      (await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' })).headers['content-type'] as string,
      /javascript/,
    );
    assert.match((await app.inject({ method: 'GET', url: '/docs/start.js' })).body, /url: '\/openapi\.json'/);
    for (const url of ['/docs/static/package.json', '/docs/static/swagger-ui.js.map', '/docs/static/../../package.json']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
  });
});
