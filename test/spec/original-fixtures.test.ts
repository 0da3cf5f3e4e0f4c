// Files made for the original Hydroplane (test/fixtures/original): each spec starts, or is refused
// for the reason docs/migrating.md gives, and each config loads.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { HydroplaneError } from '../../src/errors.ts';
import { createRuntime } from '../../src/runtimes/index.ts';
import { NoneSecretStore } from '../../src/secrets/none-secret-store.ts';
import type { SecretStore } from '../../src/secrets/secret-store.ts';
import { buildApp } from '../../src/server/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { MemorySecretStore } from '../support/memory-secret-store.ts';

const FIXTURES = new URL('../fixtures/original/', import.meta.url).pathname;
const MIGRATING = await readFile(new URL('../../docs/migrating.md', import.meta.url), 'utf8');

/** A section of docs/migrating.md, by its heading; the test fails when the page has no such section. */
function section(heading: string): string {
  const start = MIGRATING.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/migrating.md has a section '## ${heading}'`);
  const end = MIGRATING.indexOf('\n## ', start + 1);
  return MIGRATING.slice(start, end < 0 ? undefined : end);
}

async function spec(file: string): Promise<unknown> {
  return JSON.parse(await readFile(join(FIXTURES, 'specs', file), 'utf8'));
}

async function start(body: unknown, query = '') {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false });
  const res = await app.inject({
    method: 'POST',
    url: `/process${query}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  await app.close();
  return { res, runtime };
}

/** The Docker runtime with `secrets`, at an Engine that is not there: what happens before the Engine is asked anything. */
async function startOnDocker(body: unknown, secrets: SecretStore) {
  const config = parseConfig('runtime:\n  runtime_type: docker\n  docker_host: unix:///tmp/hydroplane-no-such-engine.sock\n', 'test.yml');
  const runtime = await createRuntime(config.runtime, { secrets, logger: pino({ level: 'silent' }) });
  const app = await buildApp({ runtime, logger: false });
  const res = await app.inject({
    method: 'POST',
    url: '/process',
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  await app.close();
  return res;
}

describe("the original's spec files", () => {
  it('has each fixture that the README lists, and no other', async () => {
    assert.deepEqual((await readdir(join(FIXTURES, 'specs'))).sort(), [
      'chat-client.json',
      'chat-server.json',
      'docs-test.json',
      'env-secret.json',
      'mixed-case-name.json',
      'nginx-advanced.json',
      'nginx.json',
    ]);
  });

  for (const file of ['nginx.json', 'docs-test.json', 'chat-server.json', 'chat-client.json']) {
    it(`starts ${file} as it is, with no warning`, async () => {
      const { res, runtime } = await start(await spec(file));
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().warnings, undefined);
      assert.equal(runtime.processes.size, 1);
    });
  }

  it('starts nginx-advanced.json (a top-level node_selector) with a warning, and Strict refuses it, as the page says', async () => {
    const text = section('Unknown and misplaced fields');
    const advanced = await spec('nginx-advanced.json');
    const { res, runtime } = await start(advanced);
    assert.equal(res.statusCode, 201, res.body);
    const warning = "node_selector: unknown field here; 'node_selector' belongs in 'container'";
    assert.deepEqual(res.json().warnings, [warning]);
    assert.ok(text.includes(warning), 'the page quotes the warning');
    // Numeric strings, as the original's docs wrote them, are numbers.
    assert.deepEqual(runtime.specs.get('nginx-advanced')?.container.resource_request, { cpu_vcpu: 0.5, memory_mib: 128 });
    const strict = await start(advanced, '?fieldValidation=Strict');
    assert.equal(strict.res.statusCode, 422);
    assert.ok(text.includes('fieldValidation=Strict'));
  });

  it('refuses mixed-case-name.json with the reason the page gives', async () => {
    const text = section('Process names');
    const { res } = await start(await spec('mixed-case-name.json'));
    assert.equal(res.statusCode, 422);
    const field = res.json().fields.find((f: { path: string }) => f.path === 'process_name');
    assert.ok(field, res.body);
    assert.ok(text.includes(field.message), `the page gives the reason: ${field.message}`);
  });

  it('starts env-secret.json where the store has the secret, and the none store refuses it as the page says', async () => {
    const text = section('Secrets in the environment');
    const body = await spec('env-secret.json');
    // With the secret, the start goes past the secrets to the Engine (absent here: 503).
    const store = new MemorySecretStore({ 'db-credentials': '{"password": "pw"}' });
    const resolved = await startOnDocker(body, store);
    assert.equal(resolved.statusCode, 503, resolved.body);
    assert.deepEqual(store.reads, ['db-credentials']);
    // Without a store, 422 before anything is created, saying how to configure one.
    const refused = await startOnDocker(body, new NoneSecretStore());
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(refused.json().code, 'secrets_unavailable');
    assert.match(refused.json().details, /secret store is 'none'/);
    assert.ok(text.includes("secret store is 'none'"));
  });
});

describe("the original's config files", () => {
  it('has each fixture that the README lists, and no other', async () => {
    assert.deepEqual((await readdir(join(FIXTURES, 'configs'))).sort(), ['basic-config.yml', 'culling.yml', 'gke.yml', 'local-eks.yml']);
  });

  const load = async (file: string) => parseConfig(await readFile(join(FIXTURES, 'configs', file), 'utf8'), file);

  it('loads each as it is, with the defaults it had', async () => {
    const basic = await load('basic-config.yml');
    assert.deepEqual(basic.secret_store, { secret_store_type: 'none' });
    assert.equal(basic.runtime.runtime_type, 'docker');
    assert.equal(basic.field_validation, 'Warn');
    assert.deepEqual((await load('culling.yml')).process_culling, { max_age_minutes: 90, culling_interval_minutes: 10 });
    const eks = await load('local-eks.yml');
    assert.deepEqual(eks.secret_store, { secret_store_type: 'local', store_location: '~/.hydro_secrets' });
    assert.ok(eks.runtime.runtime_type === 'eks' && eks.runtime.namespace === 'default');
    assert.deepEqual(eks.runtime.runtime_type === 'eks' && eks.runtime.credentials.access_key.access_key_id, {
      secret_name: 'aws-keys',
      key: 'AccessKeyId',
    });
    const gke = await load('gke.yml');
    assert.ok(gke.runtime.runtime_type === 'gke' && gke.runtime.cluster_id === 'experiments' && gke.runtime.namespace === 'default');
  });

  it('refuses a typo in a config, naming it (configs have no field validation modes)', async () => {
    const text = (await readFile(join(FIXTURES, 'configs', 'culling.yml'), 'utf8')).replace('max_age_minutes', 'max_age_minute');
    assert.throws(
      () => parseConfig(text, 'culling.yml'),
      (error) => error instanceof HydroplaneError && /max_age_minute/.test(error.message),
    );
    assert.ok(section('Config files').includes('unknown key'));
  });
});
