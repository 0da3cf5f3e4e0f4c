// PUT /process/{process_name}: the desired state, over the fake runtime (held to the runtime
// contract, apply scenarios included): 201 created, 200 unchanged, 200 replaced; a name that is
// not the path's is a 422; fieldValidation and warnings as POST has them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildApp } from '../../src/server/app.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { specDigest } from '../../src/spec/spec-digest.ts';
import { HydroplaneError } from '../../src/errors.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { specInput } from '../support/spec-arbitraries.ts';

type App = Awaited<ReturnType<typeof buildApp>>;

async function setup() {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false });
  return { runtime, app };
}

function put(app: App, name: string, body: unknown, query = '') {
  return app.inject({
    method: 'PUT',
    url: `/process/${name}${query}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

const web = (extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  process_name: 'web',
  group: 'g',
  container: { image_uri: 'nginx', ports: [{ container_port: 80 }], ...container },
  ...extra,
});

describe('PUT /process/{process_name}', () => {
  it('creates (201), then leaves the same spec alone (200 unchanged), then replaces a changed one (200 replaced)', async () => {
    const { runtime, app } = await setup();
    const created = await put(app, 'web', web());
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().outcome, 'created');
    assert.equal(created.json().spec_digest, specDigest(ProcessSpec.parse(web())));
    assert.equal(created.json().warnings, undefined);

    const firstCreated = runtime.processes.get('web')!.created;
    runtime.now = () => new Date(Date.now() + 60_000);
    // The same spec written another way: defaults spelt out, a port as a string, keys in another order.
    const same = {
      container: { ports: [{ protocol: 'tcp', container_port: '80' }], env: [], image_uri: 'nginx' },
      group: 'g',
      process_name: 'web',
    };
    const unchanged = await put(app, 'web', same);
    assert.equal(unchanged.statusCode, 200);
    assert.equal(unchanged.json().outcome, 'unchanged');
    assert.equal(runtime.processes.get('web')!.created, firstCreated, 'nothing was touched');

    const replaced = await put(app, 'web', web({}, { image_uri: 'nginx:1.27' }));
    assert.equal(replaced.statusCode, 200);
    assert.equal(replaced.json().outcome, 'replaced');
    assert.equal(replaced.json().image, 'nginx:1.27');
    assert.notEqual(runtime.processes.get('web')!.created, firstCreated, 'a new process');
    assert.equal(runtime.processes.size, 1);
  });

  it('finds a process that POST started from the same spec unchanged', async () => {
    const { app } = await setup();
    const posted = await app.inject({ method: 'POST', url: '/process', payload: web() });
    assert.equal(posted.statusCode, 201);
    const applied = await put(app, 'web', web());
    assert.equal(applied.statusCode, 200);
    assert.equal(applied.json().outcome, 'unchanged');
  });

  it('replaces an exited process, and one that records no spec (an older server started it)', async () => {
    const { runtime, app } = await setup();
    assert.equal((await put(app, 'web', web())).statusCode, 201);
    runtime.exit('web', 3);
    const afterExit = await put(app, 'web', web());
    assert.equal(afterExit.statusCode, 200);
    assert.equal(afterExit.json().outcome, 'replaced');
    assert.equal(afterExit.json().status, 'RUNNING');

    delete runtime.processes.get('web')!.spec_digest;
    const afterOld = await put(app, 'web', web());
    assert.equal(afterOld.json().outcome, 'replaced');
    assert.equal(afterOld.json().spec_digest, specDigest(ProcessSpec.parse(web())));
  });

  it("refuses a spec whose process_name is not the path's with a 422 naming process_name, touching nothing", async () => {
    const { runtime, app } = await setup();
    const res = await put(app, 'other', web());
    assert.equal(res.statusCode, 422);
    const body = res.json();
    assert.equal(body.error, 422);
    assert.equal(body.code, 'invalid_spec');
    assert.deepEqual(
      body.fields.map((f: { path: string }) => f.path),
      ['process_name'],
    );
    assert.match(body.details, /'web'.*'other'/);
    assert.equal(runtime.processes.size, 0);
  });

  it('refuses an invalid spec with the 422 that POST gives', async () => {
    const { app } = await setup();
    const res = await put(app, 'web', web({}, { ports: [{ container_port: 0 }] }));
    assert.equal(res.statusCode, 422);
    assert.deepEqual(
      res.json().fields.map((f: { path: string }) => f.path),
      ['container.ports[0].container_port'],
    );
  });

  it('takes fieldValidation: Warn (default) drops and reports, Strict refuses, Ignore drops silently', async () => {
    const { app } = await setup();
    const spec = web({ colour: 'red' });
    const strict = await put(app, 'web', spec, '?fieldValidation=Strict');
    assert.equal(strict.statusCode, 422);
    assert.deepEqual(
      strict.json().fields.map((f: { path: string }) => f.path),
      ['colour'],
    );

    const warned = await put(app, 'web', spec);
    assert.equal(warned.statusCode, 201);
    assert.equal(warned.json().outcome, 'created');
    assert.equal(warned.json().warnings.length, 1);
    assert.match(warned.json().warnings[0], /^colour: /);
    assert.match(String(warned.headers['warning']), /^299 - "colour: /);

    const ignored = await put(app, 'web', spec, '?fieldValidation=Ignore');
    assert.equal(ignored.statusCode, 200);
    assert.equal(ignored.json().outcome, 'unchanged', 'the dropped field is not part of the spec');
    assert.equal(ignored.json().warnings, undefined);
    assert.equal(ignored.headers['warning'], undefined);

    const bad = await put(app, 'web', spec, '?fieldValidation=Loose');
    assert.equal(bad.statusCode, 400);
  });

  it('answers a path name that no runtime can hold with 404, and a runtime failure with its error', async () => {
    const { runtime, app } = await setup();
    assert.equal((await put(app, 'no%20such', web())).statusCode, 404);
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the Engine is away');
    const res = await put(app, 'web', web());
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'runtime_unavailable');
  });

  it('shows expires for a spec with max_age_minutes: the start plus that', async () => {
    const { runtime, app } = await setup();
    const start = new Date('2026-12-01T00:00:00.000Z');
    runtime.now = () => start;
    const res = await put(app, 'web', web({ max_age_minutes: 1.5 }));
    assert.equal(res.json().expires, '2026-12-01T00:01:30.000Z');
    const listed = (await app.inject({ method: 'GET', url: '/process' })).json();
    assert.equal(listed[0].expires, '2026-12-01T00:01:30.000Z');
  });

  it('is in the OpenAPI document as apply_process, answering AppliedProcessInfo', async () => {
    const { app } = await setup();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/process/{process_name}'].put;
    assert.equal(op.operationId, 'apply_process');
    assert.deepEqual(Object.keys(op.responses).sort(), ['200', '201', '400', '404', '409', '422', '503']);
    assert.match(JSON.stringify(op.responses['200']), /AppliedProcessInfo/);
    const schema = doc.components.schemas.AppliedProcessInfo;
    assert.deepEqual(schema.properties.outcome.enum ?? doc.components.schemas.ApplyOutcome.enum, ['created', 'unchanged', 'replaced']);
    assert.ok(doc.components.schemas.ProcessSpec.properties.max_age_minutes);
    assert.ok(doc.components.schemas.ProcessInfo.properties.expires);
    assert.ok(doc.components.schemas.ProcessInfo.properties.spec_digest);
  });

  it('answers any generated pair of specs: created, then unchanged for the same, replaced for another', async () => {
    await fc.assert(
      fc.asyncProperty(specInput('web'), specInput('web'), async (first, second) => {
        const { app } = await setup();
        const a = await put(app, 'web', first);
        assert.equal(a.statusCode, 201, a.body);
        assert.equal(a.json().outcome, 'created');
        const again = await put(app, 'web', first);
        assert.equal(again.json().outcome, 'unchanged');
        const differs = specDigest(ProcessSpec.parse(first)) !== specDigest(ProcessSpec.parse(second));
        const b = await put(app, 'web', second);
        assert.equal(b.statusCode, 200);
        assert.equal(b.json().outcome, differs ? 'replaced' : 'unchanged');
        assert.equal(b.json().spec_digest, specDigest(ProcessSpec.parse(second)));
      }),
      { numRuns: 40 },
    );
  });
});
