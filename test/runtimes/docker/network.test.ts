// ProcessNetwork against a stand-in Engine that keeps networks in memory, for what a real Engine
// does only by chance (two networks of one name, a create that loses a race) and to count calls.
// network.docker.test.ts runs the same module against the real Engine.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import DockerModem from 'docker-modem';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import type { RuntimeLogger } from '../../../src/runtimes/logger.ts';
import { EngineClient } from '../../../src/runtimes/docker/engine-client.ts';
import { EngineError, type ErrorContext } from '../../../src/runtimes/docker/errors.ts';
import { ProcessNetwork, isNetworkTrouble, networkToKeep } from '../../../src/runtimes/docker/network.ts';
import { EngineStandin, json } from './engine-standin.ts';

interface StoredNetwork {
  Id: string;
  Name: string;
  Created: string;
  Containers: Record<string, unknown>;
}

/** The network part of an Engine: inspect (by id or name), list, create, remove. */
class NetworkEngine {
  readonly networks: StoredNetwork[] = [];
  /** Answer a create of a taken name with 409 (as 26 does), else make a second network (as 20.10 can). */
  refuseDuplicates = true;
  /** Set to make the next inspect fail with a 500. */
  failNextInspect = false;
  #next = 0;

  add(name: string, created = '2026-11-30T10:00:00.000000001Z', containers: Record<string, unknown> = {}): StoredNetwork {
    this.#next += 1;
    const network = { Id: `${String(this.#next).padStart(4, '0')}${'f'.repeat(60)}`, Name: name, Created: created, Containers: containers };
    this.networks.push(network);
    return network;
  }

  serve(standin: EngineStandin): void {
    standin.handle = (req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://engine');
      const path = decodeURIComponent(url.pathname);
      if (req.method === 'GET' && path === '/networks') {
        const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { name?: string[] };
        const part = filters.name?.[0] ?? '';
        return json(
          res,
          200,
          this.networks.filter((n) => n.Name.includes(part)).map((n) => ({ ...n, Containers: {} })),
        );
      }
      if (req.method === 'POST' && path === '/networks/create') {
        const { Name } = JSON.parse(body) as { Name: string };
        if (this.refuseDuplicates && this.networks.some((n) => n.Name === Name)) {
          return json(res, 409, { message: `network with name ${Name} already exists` });
        }
        return json(res, 201, { Id: this.add(Name, new Date().toISOString()).Id });
      }
      const key = path.replace(/^\/networks\//, '');
      if (req.method === 'GET') {
        if (this.failNextInspect) {
          this.failNextInspect = false;
          return json(res, 500, { message: 'the Engine is having a bad day' });
        }
        const byId = this.networks.filter((n) => n.Id === key);
        const found = byId.length > 0 ? byId : this.networks.filter((n) => n.Name === key);
        if (found.length > 1) return json(res, 400, { message: `network ${key} is ambiguous (${found.length} matches found on name)` });
        if (found.length === 0) return json(res, 404, { message: `network ${key} not found` });
        return json(res, 200, found[0]);
      }
      if (req.method === 'DELETE') {
        const at = this.networks.findIndex((n) => n.Id === key);
        if (at < 0) return json(res, 404, { message: `network ${key} not found` });
        this.networks.splice(at, 1);
        res.writeHead(204).end();
        return;
      }
      json(res, 500, { message: `unexpected ${req.method} ${path}` });
    };
  }
}

function recordingLogger(): RuntimeLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (_obj: Record<string, unknown>, msg?: string) => void lines.push(msg ?? '');
  return { lines, info: log, warn: log, error: log, debug: log };
}

const NAME = 'hp-net';
let standin: EngineStandin;
let engine: NetworkEngine;
let logger: ReturnType<typeof recordingLogger>;
let network: ProcessNetwork;
let ctx: ErrorContext;

beforeEach(async () => {
  standin = await new EngineStandin().listen();
  engine = new NetworkEngine();
  engine.serve(standin);
  logger = recordingLogger();
  network = new ProcessNetwork(new EngineClient(new DockerModem({ socketPath: standin.socketPath }), 5), NAME, logger);
  ctx = { action: "starting process 'web'", endpoint: `unix://${standin.socketPath}`, timeoutSeconds: 5 };
});
afterEach(() => standin.close());

const named = () => engine.networks.filter((n) => n.Name === NAME);

describe('ProcessNetwork.ensure', () => {
  it('creates a missing network, then asks the Engine no more', async () => {
    await network.ensure(ctx);
    assert.equal(named().length, 1);
    assert.deepEqual(
      standin.requests.map((r) => r.replace(/\?.*$/, '')),
      [`GET /networks/${NAME}`, 'POST /networks/create', 'GET /networks'],
    );
    assert.ok(logger.lines.includes('created bridge network'));
    const asked = standin.requests.length;
    await network.ensure(ctx);
    assert.equal(standin.requests.length, asked);
  });

  it('uses a network that exists, with one call', async () => {
    engine.add(NAME);
    await network.ensure(ctx);
    assert.deepEqual(standin.requests, [`GET /networks/${NAME}`]);
    assert.equal(named().length, 1);
  });

  it('shares one check among concurrent callers', async () => {
    await Promise.all(Array.from({ length: 5 }, () => network.ensure(ctx)));
    assert.equal(standin.requests.filter((r) => r.startsWith('POST /networks/create')).length, 1);
    assert.equal(standin.requests.filter((r) => r.startsWith(`GET /networks/${NAME}`)).length, 1);
    assert.equal(named().length, 1);
  });

  it('takes the network of a create that won the race (409)', async () => {
    // The inspect finds nothing; by the create, another server has made it.
    const winner = engine.add('someone-else');
    const serve = standin.handle;
    standin.handle = (req, res, body) => {
      if (req.method === 'POST') winner.Name = NAME;
      serve(req, res, body);
    };
    await network.ensure(ctx);
    assert.deepEqual(
      named().map((n) => n.Id),
      [winner.Id],
    );
  });

  it('keeps one of two networks of the name, the one in use, and removes the other', async () => {
    const older = engine.add(NAME, '2026-11-30T10:00:00.000000001Z');
    const used = engine.add(NAME, '2026-11-30T10:00:00.000000002Z', { c1: {} });
    await network.ensure(ctx);
    assert.deepEqual(
      named().map((n) => n.Id),
      [used.Id],
    );
    assert.ok(standin.requests.includes(`DELETE /networks/${older.Id}`));
    assert.ok(logger.lines.includes('removed duplicate networks of the same name'));
  });

  it('keeps the oldest, to the nanosecond, when none is in use', async () => {
    engine.add(NAME, '2026-11-30T10:00:00.000000009Z');
    const oldest = engine.add(NAME, '2026-11-30T10:00:00.000000002Z');
    engine.add(NAME, '2026-11-30T10:00:00.00000001Z');
    await network.ensure(ctx);
    assert.deepEqual(
      named().map((n) => n.Id),
      [oldest.Id],
    );
  });

  it('removes the second network that its own create made beside another', async () => {
    // 20.10's duplicate check is not atomic: the inspect found nothing, the create made a second.
    engine.refuseDuplicates = false;
    const first = engine.add('racing');
    const serve = standin.handle;
    standin.handle = (req, res, body) => {
      if (req.method === 'POST') first.Name = NAME;
      serve(req, res, body);
    };
    await network.ensure(ctx);
    assert.deepEqual(
      named().map((n) => n.Id),
      [first.Id],
    );
  });

  it('fails in the words of the caller, naming the network, and asks again next time', async () => {
    engine.failNextInspect = true;
    await assert.rejects(network.ensure(ctx), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError, String(err));
      assert.equal(err.code, 'runtime_error');
      assert.match(err.message, /while starting process 'web' \(creating network 'hp-net'\)/);
      return true;
    });
    assert.equal(named().length, 0);
    await network.ensure(ctx);
    assert.equal(named().length, 1);
  });
});

describe('ProcessNetwork.repair', () => {
  it('makes the network again after the Engine said it is gone', async () => {
    await network.ensure(ctx);
    engine.networks.length = 0;
    await network.repair(new EngineError('http', `network ${NAME} not found`, { status: 404 }), ctx);
    assert.equal(named().length, 1);
    assert.ok(logger.lines.includes('the network disappeared; creating it again'));
  });

  it('keeps one network after the Engine said the name is ambiguous', async () => {
    await network.ensure(ctx);
    const [kept] = named();
    engine.add(NAME, '2100-01-01T00:00:00Z');
    await network.repair(new EngineError('http', `network ${NAME} is ambiguous (2 matches found on name)`, { status: 400 }), ctx);
    assert.deepEqual(
      named().map((n) => n.Id),
      [kept?.Id],
    );
    assert.ok(logger.lines.includes('the network exists more than once; keeping one'));
  });
});

describe('isNetworkTrouble', () => {
  it('is a missing network (Docker at the start, Podman at the create) or an ambiguous name, nothing else', () => {
    const says = (message: string, status = 404) => isNetworkTrouble(new EngineError('http', message, { status }));
    assert.equal(says('network hydroplane not found'), true);
    assert.equal(says('container create: unable to find network with name or ID hydroplane: network not found', 500), true);
    assert.equal(says('network hydroplane is ambiguous (2 matches found on name)', 400), true);
    assert.equal(says('No such image: nginx:latest'), false);
    assert.equal(says('No such container: web'), false);
    assert.equal(isNetworkTrouble(new Error('network hydroplane not found')), false);
  });
});

describe('networkToKeep', () => {
  const network = fc.record({
    Id: fc.stringMatching(/^[0-9a-f]{12}$/),
    Created: fc
      .tuple(fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), fc.integer({ min: 0, max: 999_999_999 }))
      .map(([s, ns]) => `${new Date(s * 1000).toISOString().slice(0, 19)}.${String(ns).padStart(9, '0')}Z`),
    Containers: fc.constantFrom<Record<string, unknown>>({}, { c: {} }),
  });
  const networks = fc.uniqueArray(network, { minLength: 2, maxLength: 6, selector: (n) => n.Id });

  it('has every racer keep the same network, whatever order the Engine lists them in', () => {
    fc.assert(
      fc.property(
        networks.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length }))),
        ([listed, shuffled]) => {
          assert.equal([...listed].sort(networkToKeep)[0]?.Id, [...shuffled].sort(networkToKeep)[0]?.Id);
        },
      ),
    );
  });

  it('keeps one in use if any, else the oldest', () => {
    fc.assert(
      fc.property(networks, (list) => {
        const [kept] = [...list].sort(networkToKeep);
        assert.ok(kept);
        const used = list.filter((n) => Object.keys(n.Containers).length > 0);
        const candidates = used.length > 0 ? used : list;
        for (const other of candidates) assert.ok(kept.Created <= other.Created, `${kept.Created} is not after ${other.Created}`);
        if (used.length > 0) assert.ok(used.includes(kept));
      }),
    );
  });
});
