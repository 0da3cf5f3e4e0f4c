// Pulls against the real Engine and a registry on loopback that stalls or answers with hostile
// bodies: a pull is bounded by pull_timeout_seconds, stops when its caller goes away (the
// registry sees its connection close), leaves nothing behind, and no byte of a registry's reply
// reaches an error's details.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import type DockerModem from 'docker-modem';
import { HydroplaneError } from '../../../src/errors.ts';
import { type RunningServer, startServer } from '../../../src/server/start-server.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, type EngineInfo, TEST_IMAGE, dockerSkip, engineInfo, eventually } from '../../support/docker.ts';
import { FakeRegistry } from '../../support/fake-registry.ts';
import Dockerode from 'dockerode';

const skip = await dockerSkip();
const run = new DockerTestRun();

const spec = (name: string, image: string) =>
  ProcessSpec.parse({ process_name: name, container: { image_uri: image, command: ['sleep', '60'] } });

async function containersNamed(name: string): Promise<number> {
  const all = await run.docker.listContainers({ all: true, filters: { name: [name] } });
  return all.filter((c) => c.Names.includes(`/${name}`)).length;
}

function hydroplaneError(code: string, check?: (err: HydroplaneError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof HydroplaneError, `a HydroplaneError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err);
    return true;
  };
}

/** A registry whose layer download stalls, and a real server (in-process) on this Engine; both closed after the test. */
async function stallingPullServer(t: TestContext): Promise<{ registry: FakeRegistry; server: RunningServer }> {
  const registry = await new FakeRegistry({ manifest: 'stall-layer' }).listen();
  const dir = await mkdtemp(join(tmpdir(), 'hp-pulls-'));
  t.after(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, `runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
  const server = await startServer({
    configPath,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }) as FastifyBaseLogger,
    password: async () => '',
    env: {},
  });
  return { registry, server };
}

describe('a pull is bounded and cancellable', { skip }, () => {
  it('fails with runtime_timeout naming pull_timeout_seconds and the registry, cancels the pull, and creates nothing', async (t) => {
    const registry = await new FakeRegistry({ manifest: 'stall-layer' }).listen();
    t.after(() => registry.close());
    const runtime = run.runtime({ config: run.config({ pull_timeout_seconds: 1 }) });
    const name = run.name('pulltimeout');
    await assert.rejects(
      runtime.start(spec(name, `${registry.host}/${run.prefix}stall/app:1`)),
      hydroplaneError('runtime_timeout', (err) => {
        assert.match(err.message, /pull_timeout_seconds/);
        assert.ok(err.message.includes(registry.host), err.message);
      }),
    );
    assert.ok(
      registry.requests.some((r) => r.includes('/blobs/')),
      registry.requests.join('\n'),
    );
    await eventually(
      async () => (registry.stalledClosed >= 1 && registry.stalledOpen === 0 ? true : undefined),
      "the registry to see the pull's connection close",
    );
    assert.equal(await containersNamed(name), 0);
  });

  it('stops the pull when the start is aborted, and creates nothing', async (t) => {
    const registry = await new FakeRegistry({ manifest: 'stall-layer' }).listen();
    t.after(() => registry.close());
    const runtime = run.runtime();
    const name = run.name('pullabort');
    const controller = new AbortController();
    const started = runtime.start(spec(name, `${registry.host}/${run.prefix}stall/app:1`), { signal: controller.signal });
    started.catch(() => {});
    await eventually(async () => (registry.stalledOpen >= 1 ? true : undefined), 'the Engine to download the layer');
    controller.abort();
    await assert.rejects(
      started,
      hydroplaneError('runtime_unavailable', (err) => assert.match(err.message, /cancelled/)),
    );
    await eventually(
      async () => (registry.stalledClosed >= 1 && registry.stalledOpen === 0 ? true : undefined),
      "the registry to see the pull's connection close",
    );
    assert.equal(await containersNamed(name), 0);
  });

  it('removes the container when the start is aborted after its create', async () => {
    const docker = new Dockerode();
    const controller = new AbortController();
    const dial = docker.modem.dial.bind(docker.modem);
    // The caller goes away just as the Engine has created the container.
    docker.modem.dial = (options: DockerModem.DialOptions, callback: DockerModem.RequestCallback) =>
      dial(options, (err, data) => {
        if (!err && options.path.startsWith('/containers/create')) controller.abort();
        callback(err, data);
      });
    const runtime = run.runtime({ docker });
    const name = run.name('createabort');
    await assert.rejects(runtime.start(spec(name, TEST_IMAGE), { signal: controller.signal }), hydroplaneError('runtime_unavailable'));
    assert.equal(await containersNamed(name), 0);
  });

  it('stops the pull when the client of POST /process goes away, and creates nothing', async (t) => {
    const { registry, server } = await stallingPullServer(t);
    t.after(() => server.close());
    const name = run.name('pullgone');
    const body = JSON.stringify({ process_name: name, container: { image_uri: `${registry.host}/${run.prefix}stall/app:1` } });
    const req = request(`${server.url}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => {});
    req.end(body);
    await eventually(async () => (registry.stalledOpen >= 1 ? true : undefined), 'the Engine to download the layer');
    req.destroy();
    await eventually(
      async () => (registry.stalledClosed >= 1 && registry.stalledOpen === 0 ? true : undefined),
      "the registry to see the pull's connection close",
    );
    assert.equal(await containersNamed(name), 0);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/process/${name}`)).status, 404);
  });

  it('stops the pull when the server closes during a start, and creates nothing', async (t) => {
    const { registry, server } = await stallingPullServer(t);
    const name = run.name('pullclose');
    const answer = fetch(`${server.url}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ process_name: name, container: { image_uri: `${registry.host}/${run.prefix}stall/app:1` } }),
    }).then(
      (res) => res.status,
      () => 'no answer',
    );
    await eventually(async () => (registry.stalledOpen >= 1 ? true : undefined), 'the Engine to download the layer');
    // close() waits for requests in flight: it returns only because the start gave up.
    await server.close();
    const status = await answer;
    assert.ok(status === 503 || status === 'no answer', `the start did not succeed: ${status}`);
    await eventually(
      async () => (registry.stalledClosed >= 1 && registry.stalledOpen === 0 ? true : undefined),
      "the registry to see the pull's connection close",
    );
    assert.equal(await containersNamed(name), 0);
  });
});

/** Bodies a registry could answer: control characters, HTML, JSON errors that embed them, a megabyte. */
const hostileBody = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), minLength: 16, maxLength: 300 }),
  fc
    .string({ unit: 'grapheme', minLength: 16, maxLength: 200 })
    .map((s) => `<html><body><h1>${s}</h1><script>alert(1)</script></body></html>`),
  fc
    .string({ minLength: 16, maxLength: 200 })
    .map((s) => JSON.stringify({ errors: [{ code: 'DENIED', message: `\u001b[2J\u001b[31m${s}\r\n\u0007` }] })),
  fc.constant(`\u001b]0;owned\u0007${'X'.repeat(1 << 20)}`),
);

/**
 * What the runtime can know of a registry's refusal whose body is not a registry error document,
 * by what each Engine reports (measured; src/runtimes/docker/README.md, "Pull errors"). 20.10 and
 * Podman name the registry's status for 403, 404 and 429 ("error parsing HTTP 403 response
 * body", "StatusCode: 403,"); so does 26 when the answer says it is JSON. For any other body 26
 * names no status: a 403 becomes "pull access denied ..." (the registry's DENIED: a missing image
 * or a private one), a 404 "unknown: <body>", a 429 "toomanyrequests: <body>". A 401 is
 * "unauthorized" on every Engine, a 5xx "received unexpected HTTP status: 5xx ..." on every Engine.
 */
function expectedFor(engine: EngineInfo, status: number, asJson: boolean): { code: string; statusNamed: boolean; ambiguous: boolean } {
  if (status === 401) return { code: 'registry_auth_failed', statusNamed: false, ambiguous: false };
  if (status >= 500) return { code: 'runtime_error', statusNamed: true, ambiguous: false };
  if (engine.kind === 'docker' && engine.major >= 26 && !asJson) {
    if (status === 403) return { code: 'image_not_found', statusNamed: false, ambiguous: true };
    return { code: 'runtime_error', statusNamed: false, ambiguous: false };
  }
  return {
    code: status === 403 ? 'registry_auth_failed' : status === 404 ? 'image_not_found' : 'runtime_error',
    statusNamed: true,
    ambiguous: false,
  };
}

describe('a registry error is summarised, never echoed', { skip }, () => {
  it('answers 401, 403, 404, 429, 500, 502 and 503 with any body with a short summary naming the registry, the status when the Engine gives it, and none of the body', async () => {
    const runtime = run.runtime();
    const engine = await engineInfo();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(401, 403, 404, 429, 500, 502, 503), hostileBody, fc.boolean(), async (status, text, asJson) => {
        const marker = `HOSTILE${Math.random().toString(36).slice(2, 10)}`;
        const body = `${marker} ${text} ${marker}`;
        // Retry-After: Podman retries a 429 (2 s, 4 s, ... about a minute in all) unless told it may at once.
        const headers: Record<string, string> = {
          'Content-Type': asJson ? 'application/json' : 'text/html',
          ...(status === 429 ? { 'Retry-After': '0' } : {}),
        };
        const registry = await new FakeRegistry({ manifest: { status, body, headers } }).listen();
        try {
          const name = run.name('hostile');
          const err = await runtime.start(spec(name, `${registry.host}/${run.prefix}evil/app:1`)).then(
            () => assert.fail('the start succeeded'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof HydroplaneError, String(err));
          // What the Engine reports decides (its status when it gives one), whatever words the body holds.
          const expected = expectedFor(engine, status, asJson);
          assert.equal(err.code, expected.code, err.message);
          const details = err.message;
          if (expected.statusNamed) assert.ok(details.includes(`(HTTP ${status})`), details);
          else assert.ok(!details.includes('(HTTP '), `no status that the Engine did not give: ${details}`);
          if (expected.ambiguous) assert.match(details, /does not exist there .* or it is private .*does not say which/, details);
          assert.ok(details.length <= 500, `short: ${details.length} characters`);
          assert.ok(details.includes(registry.host), details);
          assert.doesNotMatch(details, /[\u0000-\u001f\u007f-\u009f]/, 'no control characters');
          assert.ok(!details.includes(marker), `none of the body: ${details}`);
          // No run of 12 characters of the body either.
          for (let i = 0; i + 12 <= Math.min(body.length, 4000); i += 3) {
            const piece = body.slice(i, i + 12);
            if (piece.trim().length >= 8) assert.ok(!details.includes(piece), `'${piece}' of the body is in: ${details}`);
          }
          assert.ok(
            registry.requests.some((r) => r.includes('/manifests/1')),
            'the Engine asked the registry',
          );
          assert.equal(await containersNamed(name), 0);
          if (process.env.HP_SHOW_PULL_ERRORS) console.log(status, err.code, details);
        } finally {
          await registry.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});

after(() => run.cleanupContainers());
