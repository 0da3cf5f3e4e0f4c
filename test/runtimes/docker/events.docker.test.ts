// The Docker runtime's event feed on a real Engine: each type as the Engine makes it happen, and
// GET /events over it (filters, reconnecting with Last-Event-ID, a follower that leaves), with the
// server's Engine calls going through a recording proxy so that the feed's connection is seen.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { HydroplaneClient, type FollowedEvent } from '../../../src/client.ts';
import { HydroplaneError } from '../../../src/errors.ts';
import type { DockerRuntime } from '../../../src/runtimes/docker/docker-runtime.ts';
import type { EventFilter, RuntimeEvent } from '../../../src/runtimes/runtime.ts';
import { buildApp } from '../../../src/server/app.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip, engineInfo, eventually } from '../../support/docker.ts';
import { startEngineProxy, type EngineProxy } from '../../support/engine-proxy.ts';
import { FeedReader, withTimeout } from '../../support/event-feed.ts';

const run = new DockerTestRun();
const skip = await dockerSkip();

const spec = (name: string, options: { group?: string; command?: string[] } = {}) =>
  ProcessSpec.parse({
    process_name: name,
    ...(options.group ? { group: options.group } : {}),
    container: { image_uri: TEST_IMAGE, ...(options.command ? { command: options.command } : {}) },
  });

const typesOf = (events: RuntimeEvent[]) => events.map((e) => e.type);
/** Podman 4.3 sends the same events for a stop as for an exit (docs/events.md). */
const STOPPED = skip ? 'stopped' : (await engineInfo()).kind === 'podman' ? 'exited' : 'stopped';

describe('docker runtime: events from the Engine', { skip }, () => {
  let runtime: DockerRuntime;
  before(() => {
    runtime = run.runtime();
  });

  const follow = async (t: TestContext, filter: EventFilter) => {
    const controller = new AbortController();
    t.after(() => controller.abort());
    return new FeedReader(await runtime.events({ filter, signal: controller.signal }), controller);
  };

  it('tells a process that ends by itself as exited with its exit code, then removed when stopped', async (t) => {
    const name = run.name('exit');
    const feed = await follow(t, { processName: name });
    await runtime.start(spec(name, { group: `${run.prefix}g`, command: ['sh', '-c', 'sleep 0.3; exit 3'] }));
    const ended = await feed.until((events) => events.some((e) => e.type === 'exited'), `${name} exited`);
    assert.deepEqual(typesOf(ended), ['created', 'running', 'exited']);
    const exited = ended[2]!;
    assert.equal(exited.exit_code, 3);
    assert.equal(exited.status, 'EXITED');
    assert.equal(exited.group, `${run.prefix}g`);
    // The event and the process agree, once the Engine has recorded the state it announced (its
    // die event can come a moment before an inspect shows the container exited).
    const info = await eventually(async () => {
      const got = await runtime.get(name);
      return got?.status === 'EXITED' ? got : undefined;
    }, `${name} EXITED in get()`);
    assert.equal(info.exit_code, 3);
    await runtime.stop(name);
    const all = await feed.until((events) => events.some((e) => e.type === 'removed'), `${name} removed`);
    assert.deepEqual(typesOf(all), ['created', 'running', 'exited', 'removed'], 'an ended process is only removed, not stopped');
    for (let i = 1; i < all.length; i++) assert.ok(Date.parse(all[i]!.time) >= Date.parse(all[i - 1]!.time), 'in time order');
  });

  it('tells a stop as stopped (Podman: exited), with the exit code of the stop signal, then removed', async (t) => {
    const name = run.name('stop');
    const feed = await follow(t, { processName: name });
    await runtime.start(spec(name, { command: ['sleep', '600'] }));
    await feed.until((events) => events.some((e) => e.type === 'running'), `${name} running`);
    await runtime.stop(name);
    const all = await feed.until((events) => events.some((e) => e.type === 'removed'), `${name} removed`);
    assert.deepEqual(typesOf(all), ['created', 'running', STOPPED, 'removed']);
    const stopped = all[2]!;
    assert.equal(stopped.status, 'EXITED');
    // sleep as PID 1 ignores SIGTERM: SIGKILL after the grace (137); 143 had it ended on SIGTERM.
    assert.ok(stopped.exit_code === 137 || stopped.exit_code === 143, `exit code ${stopped.exit_code}`);
    assert.equal(all[3]!.status, 'REMOVED');
  });

  it('tells a start that fails as created, then failed where the Engine reports it, then removed', async (t) => {
    const name = run.name('fail');
    const feed = await follow(t, { processName: name });
    await assert.rejects(runtime.start(spec(name, { command: ['/no/such/program'] })), HydroplaneError);
    const all = await feed.until((events) => events.some((e) => e.type === 'removed'), `${name} removed`);
    const types = typesOf(all);
    assert.ok(!types.includes('running'), types.join(', '));
    // Docker Engine 20.10 and 26.1 and Podman 4.3 send no event at all for a start that fails (no
    // die), so the feed cannot tell it: created, then removed (Hydroplane removes what a failed
    // start created). An Engine that sends die for it would give failed in between.
    const { kind, major } = await engineInfo();
    const tested = (kind === 'docker' && (major === 20 || major === 26)) || (kind === 'podman' && major === 4);
    if (tested) assert.deepEqual(types, ['created', 'removed']);
    else assert.ok(types.join() === 'created,failed,removed' || types.join() === 'created,removed', types.join(', '));
    const failed = all.find((e) => e.type === 'failed');
    if (failed) {
      assert.equal(failed.status, 'FAILED');
      assert.match(failed.reason ?? '', /could not start/);
    }
    t.diagnostic(`${kind} ${major}: a failed start is ${types.join(', ')}`);
  });

  it('refuses an id that the docker runtime never gives, with invalid_request', async () => {
    for (const after of ['7', 'abc', '1796093259708272345-XYZ-start', '1-0123456789ab-start; rm'])
      await assert.rejects(runtime.events({ after }), (err: unknown) => err instanceof HydroplaneError && err.code === 'invalid_request');
  });
});

describe('GET /events on the Docker runtime', { skip }, () => {
  let proxy: EngineProxy;
  let app: FastifyInstance;
  let client: HydroplaneClient;
  let base: string;
  const group = `${run.prefix}http`;

  before(async () => {
    proxy = await startEngineProxy(join(await mkdtemp(join(tmpdir(), 'hp-events-')), 'engine.sock'));
    const runtime = run.runtime({ config: { docker_host: `unix://${proxy.socketPath}` } as never });
    app = await buildApp({ runtime, logger: false, dashboard: false, eventHeartbeatMs: 1000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    client = new HydroplaneClient(base);
  });
  after(async () => {
    // fetch leaves an unused connection or two open (no byte sent), which neither the close nor the
    // headers timeout ends; the streams' own ending at close is tested in test/server/events.test.ts.
    const closed = app?.close();
    app?.server.closeAllConnections();
    await closed;
    await proxy?.close();
  });

  /** Follows in the background until `count` events have come, or the signal aborts. */
  const collect = (events: AsyncIterable<FollowedEvent>, into: FollowedEvent[]) =>
    (async () => {
      for await (const e of events) into.push(e);
    })();
  const waitFor = async (got: FollowedEvent[], done: () => boolean, what: string) => {
    await withTimeout(
      (async () => {
        while (!done()) await new Promise((r) => setTimeout(r, 20));
      })(),
      60_000,
      () => `${what}; got ${got.map((e) => `${e.process_name} ${e.type}`).join(', ') || 'nothing'}`,
    );
  };
  const has = (got: FollowedEvent[], name: string, type: string) => got.some((e) => e.process_name === name && e.type === type);

  it('reconnects with Last-Event-ID: what happened while away, then what happens next, none lost, none twice', async () => {
    const [p1, p2] = [run.name('rc'), run.name('rc')];
    const first: FollowedEvent[] = [];
    const away = new AbortController();
    const reading = collect(await client.events({ group }, away.signal), first);
    await client.start(spec(p1, { group, command: ['sleep', '600'] }));
    await waitFor(first, () => has(first, p1, 'running'), `${p1} running`);
    away.abort();
    await reading;
    const last = first.at(-1)!;
    // While nobody follows.
    await client.stop(p1);
    await client.start(spec(p2, { group, command: ['sleep', '600'] }));

    const second: FollowedEvent[] = [];
    const back = new AbortController();
    const again = collect(await client.events({ group, lastEventId: last.id }, back.signal), second);
    await waitFor(second, () => has(second, p2, 'running'), `${p2} running, replayed`);
    await client.stop(p2);
    await waitFor(second, () => has(second, p2, 'removed'), `${p2} removed, live`);
    back.abort();
    await again;
    assert.deepEqual(
      second.map((e) => [e.process_name, e.type]),
      [
        [p1, STOPPED],
        [p1, 'removed'],
        [p2, 'created'],
        [p2, 'running'],
        [p2, STOPPED],
        [p2, 'removed'],
      ],
    );
    const ids = [...first, ...second].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no id twice');
  });

  it('tells only the process that ?process names', async () => {
    const [mine, other] = [run.name('only'), run.name('other')];
    const got: FollowedEvent[] = [];
    const stop = new AbortController();
    const reading = collect(await client.events({ process: mine }, stop.signal), got);
    await client.start(spec(other, { group, command: ['sleep', '600'] }));
    await client.start(spec(mine, { command: ['sleep', '600'] }));
    await Promise.all([client.stop(other), client.stop(mine)]);
    await waitFor(got, () => has(got, mine, 'removed'), `${mine} removed`);
    stop.abort();
    await reading;
    assert.deepEqual(
      got.map((e) => [e.process_name, e.type, e.group]),
      [
        [mine, 'created', null],
        [mine, 'running', null],
        [mine, STOPPED, null],
        [mine, 'removed', null],
      ],
    );
  });

  it("releases the Engine connection of a follower that leaves, and of every follower when the server's feed ends", async () => {
    const feeds = () => proxy.calls.filter((c) => c.path === '/events');
    const before = feeds().length;
    const leaving = new AbortController();
    const reading = collect(await client.events({ group }, leaving.signal), []);
    await waitFor([], () => feeds().length === before + 1, 'the Engine feed to open');
    const call = feeds().at(-1)!;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(Number.isNaN(call.closed), 'the Engine connection stays open while the follower follows');
    assert.match(decodeURIComponent(call.url), /"label":\["hydroplane\/group-id=hp-test-[^"]*"\]/, 'the Engine filters by the group');
    leaving.abort();
    await reading;
    await waitFor([], () => !Number.isNaN(call.closed), 'the Engine connection to close after the follower left');
  });
});
