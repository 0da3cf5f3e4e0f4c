// End to end: registry credentials and env values from a real local secret store, through the
// real server (startServer), the real Engine and a real private registry (docker-registry with
// htpasswd). Proves that only a spec with the right credentials can launch a private image, that a
// container sees its secret env value, and that no secret value reaches an HTTP answer or a log
// line at any level.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { type RunningServer, startServer } from '../../../src/server/start-server.ts';
import { LocalSecretStore } from '../../../src/secrets/local-secret-store.ts';
import { DockerTestRun, eventually, freePort } from '../../support/docker.ts';
import { type TestRegistry, hasLocalImage, pushImage, registrySkip, removeLocalImage, startRegistry } from '../../support/registry.ts';

const skip = await registrySkip();
const run = new DockerTestRun();

/** Everything the server logged, at trace level. */
class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

interface Answer {
  status: number;
  text: string;
  json: any;
}

/**
 * The forms a value could leak in: as is, JSON-escaped, and inside base64 (standard and
 * URL-safe, at each of the three alignments), as in the Engine's X-Registry-Auth header.
 */
function leakForms(value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1)]);
  const bytes = Buffer.from(value);
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad, 0x20), bytes]).toString('base64');
    // Only the groups of 3 bytes that are all the value's own.
    const first = pad === 0 ? 0 : 1;
    const last = Math.floor((pad + bytes.length) / 3);
    const core = b64.slice(first * 4, last * 4);
    forms.add(core);
    forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms];
}

describe('registry credentials and env values from the local secret store, end to end', { skip }, () => {
  const storePassword = `hp-store-${randomBytes(12).toString('hex')}`;
  const token = `hp-token-${randomBytes(12).toString('hex')}`;
  const wrongPassword = `hp-wrong-${randomBytes(12).toString('hex')}`;
  const logs = new LogSink();
  const answers: Answer[] = [];
  const images = new Set<string>();
  let root: string;
  let registry: TestRegistry;
  let server: RunningServer;
  let image: string;

  const container = (extra: Record<string, unknown> = {}) => ({
    image_uri: image,
    username: { secret_name: 'registry', key: 'user' },
    password: { secret_name: 'registry', key: 'password' },
    command: ['sh', '-c', 'printenv TOKEN > /www/token && exec httpd -f -p 8080 -h /www'],
    ...extra,
  });

  async function api(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const answer = { status: res.status, text, json: text === '' ? undefined : JSON.parse(text) };
    answers.push(answer);
    return answer;
  }

  async function containerExists(name: string): Promise<boolean> {
    return run.docker
      .getContainer(name)
      .inspect()
      .then(
        (c) => c.Name === `/${name}`,
        () => false,
      );
  }

  /** Registry log lines of authorized manifest reads (HEAD by tag, GET by digest): the Engine's pulls. */
  function manifestReads(): number {
    return registry
      .output()
      .split('\n')
      .filter(
        (l) =>
          l.includes('msg="authorized request"') &&
          /http\.request\.method=(GET|HEAD)\b/.test(l) &&
          l.includes('/v2/private/busybox/manifests/'),
      ).length;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hp-registry-e2e-'));
    registry = await startRegistry();
    image = await pushImage(registry, { docker: run.docker });
    images.add(image);

    const storeLocation = join(root, 'store');
    const store = await LocalSecretStore.init(storeLocation, storePassword);
    await store.add('registry', JSON.stringify({ user: registry.username, password: registry.password }));
    await store.add('registry-wrong', JSON.stringify({ user: registry.username, password: wrongPassword }));
    await store.add('app-token', token);

    const configPath = join(root, 'config.yml');
    await writeFile(
      configPath,
      [
        'secret_store:',
        '  secret_store_type: local',
        `  store_location: ${JSON.stringify(storeLocation)}`,
        'runtime:',
        '  runtime_type: docker',
        `  network: ${run.network}`,
        '  stop_grace_seconds: 1',
        '',
      ].join('\n'),
    );
    server = await startServer({
      configPath,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'trace' }, logs) as FastifyBaseLogger,
      password: async () => storePassword,
      env: {},
    });
  });

  after(async () => {
    await server?.close();
    await run.cleanupContainers();
    for (const ref of images) await removeLocalImage(ref, run.docker).catch(() => {});
    await registry?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('launches the private image with the right credentials, and the container sees the secret env value', async () => {
    assert.equal(await hasLocalImage(image, run.docker), false, 'the image must come from the registry');
    const port = await freePort();
    const name = run.name('ok');
    const pullsBefore = manifestReads();

    const started = await api('POST', '/process', {
      process_name: name,
      container: container({
        env: [{ name: 'TOKEN', value: { secret_name: 'app-token' } }],
        ports: [{ container_port: 8080, host_port: port }],
      }),
    });
    assert.equal(started.status, 201, started.text);
    assert.equal(started.json.status, 'RUNNING', started.text);
    assert.deepEqual(started.json.socket_addresses, [{ host: '127.0.0.1', port, is_public: false }]);

    assert.equal(await hasLocalImage(image, run.docker), true, 'the Engine pulled the image');
    assert.ok(manifestReads() > pullsBefore, `the registry served the manifest with credentials:\n${registry.output().slice(-3000)}`);

    const { host } = started.json.socket_addresses[0];
    const served = await eventually(async () => {
      const res = await fetch(`http://${host}:${port}/token`);
      return res.ok ? res.text() : undefined;
    }, 'the container to serve its TOKEN');
    assert.equal(served, `${token}\n`);

    const listed = await api('GET', '/process');
    assert.ok(
      listed.json.some((p: { process_name: string }) => p.process_name === name),
      listed.text,
    );
    assert.equal((await api('GET', `/process/${name}`)).status, 200);
    const stopped = await api('DELETE', `/process/${name}`);
    assert.deepEqual(stopped.json, { stopped: [name] });
  });

  it('refuses wrong credentials with 422 registry_auth_failed naming the registry, leaving nothing behind', async () => {
    await removeLocalImage(image, run.docker);
    const name = run.name('wrong');
    const res = await api('POST', '/process', {
      process_name: name,
      container: container({ password: { secret_name: 'registry-wrong', key: 'password' } }),
    });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json.code, 'registry_auth_failed', res.text);
    assert.ok(res.json.details.includes(registry.host), `names the registry: ${res.json.details}`);
    assert.match(res.json.details, /refused/);
    assert.match(res.json.details, /check container\.username and the password secret/);
    // The registry's own words stay out of the answer: a registry can say anything.
    assert.doesNotMatch(res.json.details, /unauthorized: authentication required/);
    assert.equal(await containerExists(name), false);
    assert.equal(await hasLocalImage(image, run.docker), false);
  });

  it('refuses a private image without credentials with 422 registry_auth_failed that says to log in', async () => {
    const name = run.name('anon');
    const res = await api('POST', '/process', { process_name: name, container: { image_uri: image } });
    assert.equal(res.status, 422, res.text);
    // Engine 20.10 says "Head .../manifests/<tag>": no basic auth credentials".
    assert.equal(res.json.code, 'registry_auth_failed', res.text);
    assert.ok(res.json.details.includes(registry.host), res.json.details);
    assert.match(res.json.details, /the registry wants a login: give container\.username and container\.password/);
    assert.equal(await containerExists(name), false);
    assert.equal(await hasLocalImage(image, run.docker), false);
  });

  it('refuses a missing secret or key with 422 naming it, before anything is pulled or created', async () => {
    const requestsBefore = registry.output().length;
    const missingSecret = run.name('nosecret');
    const noSecret = await api('POST', '/process', {
      process_name: missingSecret,
      container: container({ username: { secret_name: 'registry-nope', key: 'user' } }),
    });
    assert.equal(noSecret.status, 422, noSecret.text);
    assert.equal(noSecret.json.code, 'secret_not_found');
    assert.match(noSecret.json.details, /secret 'registry-nope' not found in the local secret store/);

    const missingKey = run.name('nokey');
    const noKey = await api('POST', '/process', {
      process_name: missingKey,
      container: container({
        env: [
          { name: 'TOKEN', value: { secret_name: 'app-token' } },
          { name: 'DB', value: { secret_name: 'registry', key: 'nokey' } },
        ],
      }),
    });
    assert.equal(noKey.status, 422, noKey.text);
    assert.equal(noKey.json.code, 'secret_not_found');
    assert.equal(noKey.json.details, "secret 'registry' has no key 'nokey'");

    for (const name of [missingSecret, missingKey]) assert.equal(await containerExists(name), false);
    assert.equal(await hasLocalImage(image, run.docker), false);
    assert.equal(registry.output().length, requestsBefore, 'the registry was not asked for anything');
  });

  it('never shows a secret value in an HTTP answer, a log line at any level or an error message', () => {
    // The captured logs are real: they hold the pulls and the refusals above.
    assert.match(logs.text, /"msg":"pulling image"/);
    assert.match(logs.text, /registry_auth_failed/);
    assert.match(logs.text, /has no key 'nokey'/);
    assert.ok(answers.length >= 8, `answers seen: ${answers.length}`);

    const secrets = {
      'registry password': registry.password,
      'wrong password': wrongPassword,
      'app-token': token,
      'store password': storePassword,
    };
    const places = {
      'HTTP answers': answers.map((a) => a.text).join('\n'),
      'server logs': logs.text,
      'error messages': answers.flatMap((a) => (a.status >= 400 ? [a.json.details] : [])).join('\n'),
    };
    for (const [secret, value] of Object.entries(secrets)) {
      for (const form of leakForms(value)) {
        for (const [place, text] of Object.entries(places)) {
          assert.equal(text.includes(form), false, `the ${secret} appears in the ${place} (as '${form}')`);
        }
      }
    }
  });
});
