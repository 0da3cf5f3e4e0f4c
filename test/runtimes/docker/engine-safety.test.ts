// What an Engine (or whatever answers at docker_host) can do to the server: redirect it, drop a
// stream halfway, stall a body, or put any bytes in an error. Against a stand-in Engine, since a
// real one cannot be made to: every verb fails with a clear HydroplaneError, no request goes
// anywhere but the Engine, and nothing ends the process. Then the same with the bundled server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import { PROCESS_LABEL } from '../../../src/labels.ts';
import { DockerRuntime } from '../../../src/runtimes/docker/docker-runtime.ts';
import { redirectsDisabled } from '../../../src/runtimes/docker/modem-http.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';
import { skipOrFail, unbuilt } from '../../support/needs.ts';
import { DockerRuntimeConfig } from '../../../src/config/schema.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { HYDROPLANE_BIN, type ServerProcess, startServerProcess, writeConfig } from '../../support/server-process.ts';
import { ConnectionRecorder, EngineStandin, json } from './engine-standin.ts';

const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

function runtimeFor(engine: EngineStandin, overrides: Record<string, unknown> = {}): DockerRuntime {
  return new DockerRuntime({
    config: DockerRuntimeConfig.parse({
      runtime_type: 'docker',
      docker_host: `unix://${engine.socketPath}`,
      request_timeout_seconds: 5,
      ...overrides,
    }),
    secrets: new MemorySecretStore(),
  });
}

const spec = (image = 'registry.example:5000/app:1') => ProcessSpec.parse({ process_name: 'web', container: { image_uri: image } });

/** Every verb once; each settles to a HydroplaneError or a value, never anything else. */
const VERBS: Record<string, (r: DockerRuntime) => Promise<unknown>> = {
  get: (r) => r.get('web'),
  list: (r) => r.list(),
  stop: (r) => r.stop('web'),
  logs: (r) => r.logs('web'),
  start: (r) => r.start(spec()),
  stopGroup: (r) => r.stopGroup('g'),
};

async function settle(): Promise<void> {
  // A follow-up request (as the old redirect code made) fails a few ticks later, not at once.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

before(() => process.on('uncaughtException', onUncaught));
after(() => {
  process.off('uncaughtException', onUncaught);
});

describe('the Engine client never follows a redirect', () => {
  let engine: EngineStandin;
  let elsewhere: ConnectionRecorder;
  before(async () => {
    engine = await new EngineStandin().listen();
    elsewhere = await new ConnectionRecorder().listen();
  });
  after(async () => {
    await engine.close();
    await elsewhere.close();
  });

  it('has docker-modem send its requests straight to Node', () => {
    assert.equal(redirectsDisabled(), true);
  });

  it('fails every verb on any 3xx with one request to the Engine, none elsewhere, and no uncaught error', async () => {
    const runtime = runtimeFor(engine);
    const locations = (port: number) =>
      fc.oneof(
        fc.constantFrom(
          `http://127.0.0.1:${port}/containers/json`,
          `//127.0.0.1:${port}/x`,
          `https://127.0.0.1:${port}/`,
          'http://containers/json',
          `ftp://127.0.0.1:${port}/`,
          '/v1.41/containers/json',
          '',
        ),
        fc.webUrl().map((u) => u.replace(/^https?:\/\/[^/]*/, `http://127.0.0.1:${port}`)),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 300, max: 399 }),
        locations(elsewhere.port),
        fc.constantFrom(...Object.keys(VERBS)),
        async (status, location, verb) => {
          engine.handle = (_req, res) => {
            res.writeHead(status, { Location: location, 'Content-Type': 'text/html' });
            res.end(status === 304 ? undefined : `<a href="${location}">Moved</a>.`);
          };
          const before = engine.requests.length;
          await assert.rejects(VERBS[verb]!(runtime), (err: unknown) => {
            assert.ok(err instanceof HydroplaneError, `${verb}: ${String(err)}`);
            assert.equal(err.code, 'runtime_error', `${verb}: ${err.message}`);
            assert.match(err.message, new RegExp(`redirect \\(HTTP ${status}\\)`));
            assert.doesNotMatch(err.message, /Moved/);
            return true;
          });
          assert.equal(engine.requests.length - before, 1, `${verb} made exactly one request`);
        },
      ),
      { numRuns: 120 },
    );
    await settle();
    assert.equal(elsewhere.connections, 0, 'no connection anywhere but the Engine');
    assert.deepEqual(uncaught, []);
  });
});

describe('no error of a request, answer or stream ends the process', () => {
  let engine: EngineStandin;
  before(async () => {
    engine = await new EngineStandin().listen();
  });
  after(() => engine.close());

  const entry = {
    Id: 'c0ffee',
    Names: ['/web'],
    Labels: { [PROCESS_LABEL]: 'web' },
    Created: 1,
    State: 'running',
    Status: 'Up',
    Ports: [],
  };

  it('a pull whose connection drops halfway fails the start', async () => {
    engine.handle = (req, res, _body) => {
      if (req.url!.includes('/networks/')) return json(res, 200, { Id: 'n', Name: 'hydroplane', Containers: {} });
      if (req.url!.startsWith('/containers/create')) return json(res, 404, { message: 'No such image: registry.example:5000/app:1' });
      if (req.url!.startsWith('/images/create')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"status":"Pulling fs layer"}\n{"status":"Downl');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      json(res, 500, { message: 'unexpected' });
    };
    await assert.rejects(runtimeFor(engine).start(spec()), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError, String(err));
      assert.equal(err.code, 'runtime_unavailable', err.message);
      return true;
    });
    await settle();
    assert.deepEqual(uncaught, []);
  });

  it('a log stream that drops before anyone reads it ends nothing, and its reader gets a HydroplaneError or the end', async () => {
    let dropped!: () => void;
    const droppedNow = new Promise<void>((resolve) => (dropped = resolve));
    engine.handle = (req, res) => {
      if (req.url!.startsWith('/containers/json')) return json(res, 200, [entry]);
      if (req.url!.startsWith('/containers/c0ffee/json'))
        return json(res, 200, { Id: 'c0ffee', Config: { Tty: false, Labels: entry.Labels } });
      if (req.url!.startsWith('/containers/c0ffee/logs')) {
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
        res.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]));
        setTimeout(() => {
          res.socket?.destroy();
          dropped();
        }, 20);
        return;
      }
      json(res, 404, { message: 'no such thing' });
    };
    const chunks = await runtimeFor(engine).logs('web', { follow: true });
    await droppedNow;
    await settle();
    assert.deepEqual(uncaught, []);
    try {
      for await (const _ of chunks) {
        // read to the end
      }
    } catch (err) {
      assert.ok(err instanceof HydroplaneError, String(err));
    }
    assert.deepEqual(uncaught, []);
  });

  it('an answer whose body stalls past the timeout is runtime_timeout, and ends nothing', async () => {
    engine.handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"Id":');
      // ...and nothing more.
    };
    await assert.rejects(runtimeFor(engine, { request_timeout_seconds: 0.3 }).list(), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError, String(err));
      assert.equal(err.code, 'runtime_timeout');
      return true;
    });
    await settle();
    assert.deepEqual(uncaught, []);
  });

  it('a pull that reports hostile bytes is summarised without them', async () => {
    const hostile = `\u001b[31mOWNED\u0007\r\n<script>alert(1)</script>${'A'.repeat(70_000)}`;
    engine.handle = (req, res) => {
      if (req.url!.includes('/networks/')) return json(res, 200, { Id: 'n', Name: 'hydroplane', Containers: {} });
      if (req.url!.startsWith('/containers/create')) return json(res, 404, { message: 'No such image: x' });
      if (req.url!.startsWith('/images/create')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ errorDetail: { message: `received unexpected HTTP status: 503 ${hostile}` }, error: hostile })}\n`);
        return;
      }
      json(res, 500, { message: 'unexpected' });
    };
    await assert.rejects(runtimeFor(engine).start(spec()), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError, String(err));
      assert.equal(err.code, 'runtime_error');
      assert.match(err.message, /registry registry\.example:5000 \(HTTP 503\)/);
      assert.doesNotMatch(err.message, /OWNED|script|AAAA|[\u0000-\u001f]/);
      assert.ok(err.message.length < 400, err.message);
      return true;
    });
  });
});

describe(
  'the bundled server with an Engine that redirects',
  { skip: skipOrFail('bundled-server tests', [unbuilt(HYDROPLANE_BIN)]) },
  () => {
    let engine: EngineStandin;
    let elsewhere: ConnectionRecorder;
    let server: ServerProcess;
    before(async () => {
      engine = await new EngineStandin().listen();
      elsewhere = await new ConnectionRecorder().listen();
      let n = 0;
      engine.handle = (_req, res) => {
        n += 1;
        const location = n % 2 === 0 ? 'http://containers/json' : `http://127.0.0.1:${elsewhere.port}/containers/json`;
        res.writeHead(301 + (n % 3), { Location: location, 'Content-Type': 'text/html' });
        res.end('<a>Moved Permanently</a>.');
      };
      const config = await writeConfig(
        `runtime:\n  runtime_type: docker\n  docker_host: unix://${engine.socketPath}\n  request_timeout_seconds: 5\n`,
      );
      server = await startServerProcess(['-c', config, '--no-dashboard']);
    });
    after(async () => {
      await server?.stop();
      await engine.close();
      await elsewhere.close();
    });

    it('answers each request with an error, stays up, and connects nowhere else', async () => {
      const body = JSON.stringify({ process_name: 'web', container: { image_uri: 'hydroplane-test/busybox:latest' } });
      const requests: Array<[string, string, string?]> = [
        ['GET', '/process/web'],
        ['DELETE', '/process/web'],
        ['GET', '/process/web/logs'],
        ['GET', '/process'],
        ['POST', '/process', body],
        ['GET', '/process/..%2Fcontainers%2Fjson'],
        ['DELETE', '/process/..%2Fcontainers%2Fjson'],
        ['GET', '/process/%2F%2Fcontainers%2Fx'],
      ];
      for (let round = 0; round < 3; round++) {
        for (const [method, path, text] of requests) {
          const res = await fetch(`${server.url}${path}`, {
            method,
            ...(text ? { headers: { 'content-type': 'application/json' }, body: text } : {}),
          });
          const answer = await res.text();
          assert.ok(res.status >= 400, `${method} ${path}: ${res.status}`);
          assert.doesNotMatch(answer, /Moved Permanently/);
        }
      }
      await settle();
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal(server.child.exitCode, null, server.output());
      assert.equal(elsewhere.connections, 0);
      assert.doesNotMatch(server.output(), /ENOTFOUND|uncaught|Unhandled/i);
    });
  },
);
