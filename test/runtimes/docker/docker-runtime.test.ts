// DockerRuntime where no Engine answers, one that never does, and a stand-in Engine for what a
// real one shows only at scale (a thousand stops, a full network): needs no Engine.
// docker-runtime.docker.test.ts runs it against the real Engine.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, createServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import { GROUP_CONCURRENCY } from '../../../src/runtimes/bounded.ts';
import { DockerRuntime } from '../../../src/runtimes/docker/docker-runtime.ts';
import { DockerRuntimeConfig } from '../../../src/config/schema.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';
import { EngineStandin, json } from './engine-standin.ts';

const secrets = new MemorySecretStore();
const spec = (input: { process_name: string }) =>
  ProcessSpec.parse({ ...input, container: { image_uri: 'hydroplane-test/busybox:latest' } });

function hydroplaneError(code: string, check?: (err: HydroplaneError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof HydroplaneError, `a HydroplaneError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal('statusCode' in err, false, 'no raw Engine status leaks');
    check?.(err);
    return true;
  };
}

describe('DockerRuntime with no Engine', () => {
  const socket = `/tmp/hp-no-engine-${process.pid}/docker.sock`;
  const unreachable = new DockerRuntime({
    config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: `unix://${socket}`, network: 'hp-no-engine' }),
    secrets,
  });
  const unavailable = hydroplaneError('runtime_unavailable', (err) => {
    assert.equal(err.status, 503);
    assert.ok(err.message.includes(socket), err.message);
    assert.match(err.message, /docker/);
    assert.match(err.message, /docker_host|DOCKER_HOST/);
  });

  it('answers runtime_unavailable, naming the socket, from every verb', async () => {
    await assert.rejects(unreachable.list(), unavailable);
    await assert.rejects(unreachable.list({ group: 'g' }), unavailable);
    await assert.rejects(unreachable.get('web'), unavailable);
    await assert.rejects(unreachable.stop('web'), unavailable);
    await assert.rejects(unreachable.stopGroup('g'), unavailable);
    await assert.rejects(unreachable.start(spec({ process_name: 'web' })), unavailable);
  });

  it('answers runtime_timeout when the Engine accepts but does not answer in time', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-engine-'));
    const socket = join(dir, 'docker.sock');
    const held: Socket[] = [];
    const silent = createServer((client) => void held.push(client));
    await new Promise<void>((resolve) => silent.listen(socket, resolve));
    t.after(async () => {
      for (const client of held) client.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });
    const slow = new DockerRuntime({
      config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: `unix://${socket}`, request_timeout_seconds: 0.3 }),
      secrets,
    });
    const started = Date.now();
    await assert.rejects(
      slow.list(),
      hydroplaneError('runtime_timeout', (err) => {
        assert.equal(err.status, 504);
        assert.match(err.message, /within 0\.3 s/);
      }),
    );
    assert.ok(Date.now() - started < 3000);
  });

  it('refuses an Engine address it does not understand', () => {
    assert.throws(
      () => new DockerRuntime({ config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: 'ssh://me@host' }), secrets }),
      hydroplaneError('invalid_config', (err) => assert.match(err.message, /ssh:\/\/me@host/)),
    );
  });
});

describe('DockerRuntime against a stand-in Engine', () => {
  const standins: EngineStandin[] = [];
  after(async () => {
    for (const s of standins) await s.close();
  });
  async function runtimeOn(handle: EngineStandin['handle']): Promise<{ runtime: DockerRuntime; standin: EngineStandin }> {
    const standin = await new EngineStandin().listen();
    standins.push(standin);
    standin.handle = handle;
    const runtime = new DockerRuntime({
      config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: `unix://${standin.socketPath}`, network: 'hp-full' }),
      secrets,
    });
    return { runtime, standin };
  }

  it('a group stop keeps at most GROUP_CONCURRENCY stops in flight, and stops every process', async () => {
    const count = 3 * GROUP_CONCURRENCY + 5;
    const entries = Array.from({ length: count }, (_, i) => ({
      Id: `${String(i).padStart(4, '0')}${'a'.repeat(60)}`,
      Names: [`/p${i}`],
      Image: 'busybox',
      Created: 1,
      State: 'running',
      Status: 'Up',
      Labels: { 'hydroplane/process-id': `p${i}`, 'hydroplane/group-id': 'g' },
      Ports: [],
      NetworkSettings: { Networks: {} },
    }));
    let inFlight = 0;
    let most = 0;
    const held: ServerResponse[] = [];
    const removed = new Set<string>();
    const { runtime } = await runtimeOn((req, res) => {
      const path = new URL(req.url ?? '/', 'http://engine').pathname;
      if (req.method === 'GET' && path.endsWith('/containers/json')) return json(res, 200, entries);
      if (req.method === 'POST' && path.endsWith('/stop')) {
        // Held until the bound is reached, and a moment longer for any stop past it to arrive; the
        // last few (fewer than the bound) are answered after a while.
        inFlight++;
        most = Math.max(most, inFlight);
        held.push(res);
        const release = () => {
          for (const r of held.splice(0)) {
            inFlight--;
            r.writeHead(204).end();
          }
        };
        if (inFlight === GROUP_CONCURRENCY) setTimeout(release, 30);
        else setTimeout(() => held.includes(res) && release(), 300);
        return;
      }
      if (req.method === 'DELETE') {
        removed.add(path.split('/').pop()!);
        res.writeHead(204).end();
        return;
      }
      json(res, 500, { message: `unexpected ${req.method} ${path}` });
    });
    const stopped = await runtime.stopGroup('g');
    assert.equal(stopped.length, count);
    assert.equal(removed.size, count);
    assert.equal(most, GROUP_CONCURRENCY);
  });

  it('a start on a full network fails with runtime_unavailable and removes the container it created', async () => {
    const says =
      'failed to create endpoint web on network hp-full: adding interface veth8540721 to bridge br-3e1daf5fb099 failed: exchange full';
    const removed: string[] = [];
    const { runtime } = await runtimeOn((req, res) => {
      const path = new URL(req.url ?? '/', 'http://engine').pathname;
      if (req.method === 'GET' && path.endsWith('/networks/hp-full')) return json(res, 200, { Id: 'n1', Name: 'hp-full', Created: '' });
      if (req.method === 'POST' && path.endsWith('/containers/create')) return json(res, 201, { Id: 'c'.repeat(64), Warnings: [] });
      if (req.method === 'POST' && path.endsWith('/start')) return json(res, 500, { message: says });
      if (req.method === 'DELETE') {
        removed.push(path.split('/').pop()!);
        res.writeHead(204).end();
        return;
      }
      json(res, 500, { message: `unexpected ${req.method} ${path}` });
    });
    await assert.rejects(
      runtime.start(spec({ process_name: 'web' })),
      hydroplaneError('runtime_unavailable', (err) => {
        assert.match(err.message, /network 'hp-full' is full/);
        assert.match(err.message, /1,023/);
      }),
    );
    assert.deepEqual(removed, ['c'.repeat(64)]);
  });

  it('reads a list as the Engine writes it: any entries, in any chunks, give the processes that one answer would', async () => {
    let body = Buffer.alloc(0);
    let cuts: number[] = [];
    const { runtime } = await runtimeOn((req, res) => {
      const path = new URL(req.url ?? '/', 'http://engine').pathname;
      if (!path.endsWith('/containers/json')) return json(res, 500, { message: `unexpected ${req.method} ${path}` });
      // Chunked, cut where the case says, each piece in its own write, a tick apart.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const pieces: Buffer[] = [];
      let from = 0;
      for (const cut of [...cuts, body.length]) {
        pieces.push(body.subarray(from, cut));
        from = cut;
      }
      const next = () => {
        const piece = pieces.shift();
        if (piece === undefined) return void res.end();
        res.write(piece);
        setImmediate(next);
      };
      next();
    });
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    const entries = fc.uniqueArray(
      fc.record({
        name,
        group: fc.option(name, { nil: undefined }),
        state: fc.constantFrom('running', 'exited', 'restarting'),
        note: fc.string({ unit: 'binary' }),
      }),
      { selector: (e) => e.name, maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(entries, fc.array(fc.nat(), { maxLength: 12 }), async (made, at) => {
        const list = made.map((e, i) => ({
          Id: `${String(i).padStart(4, '0')}${'b'.repeat(60)}`,
          Names: [`/${e.name}`],
          Image: 'busybox',
          Created: 1_700_000_000 + i,
          State: e.state,
          Status: e.state === 'exited' ? 'Exited (0) 1 second ago' : 'Up 1 second',
          Ports: [],
          // Text in any script, quotes and backslashes: what the splitter must not cut inside.
          Labels: { 'hydroplane/process-id': e.name, ...(e.group ? { 'hydroplane/group-id': e.group } : {}), note: e.note },
          Mounts: [],
          NetworkSettings: { Networks: { 'hp-full': { IPAddress: '172.18.0.2' } } },
        }));
        body = Buffer.from(JSON.stringify(list), 'utf8');
        cuts = [...new Set(at.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
        const listed = await runtime.list();
        assert.deepEqual(
          listed.map((p) => [p.process_name, p.group, p.status]),
          [...made]
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            .map((e) => [e.name, e.group ?? null, e.state === 'exited' ? 'EXITED' : e.state === 'running' ? 'RUNNING' : 'STARTING']),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('answers a list that is not a JSON array, or is cut short, with an error that says so', async () => {
    let answer: (res: ServerResponse) => void = () => {};
    const { runtime } = await runtimeOn((_req, res) => answer(res));
    answer = (res) => json(res, 200, { message: 'not a list' });
    await assert.rejects(
      runtime.list(),
      hydroplaneError('runtime_error', (err) => assert.match(err.message, /not a JSON array: expected '\[' at byte 0, found '\{'/)),
    );
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"Id":"abc","Labels":{"hydroplane/process-id":"a"}},{"Id":');
      setImmediate(() => res.destroy());
    };
    await assert.rejects(runtime.list(), hydroplaneError('runtime_unavailable'));
  });

  it('times a list out when the Engine stops writing in the middle of it', async () => {
    const standin = await new EngineStandin().listen();
    standins.push(standin);
    standin.handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"Id":"abc","Labels":{"hydroplane/process-id":"a"}},');
    };
    const runtime = new DockerRuntime({
      config: DockerRuntimeConfig.parse({
        runtime_type: 'docker',
        docker_host: `unix://${standin.socketPath}`,
        request_timeout_seconds: 1,
      }),
      secrets,
    });
    const began = Date.now();
    await assert.rejects(
      runtime.list(),
      hydroplaneError('runtime_timeout', (err) => assert.match(err.message, /within 1 s while listing processes/)),
    );
    assert.ok(Date.now() - began < 5000, `it took ${Date.now() - began} ms`);
  });
});
