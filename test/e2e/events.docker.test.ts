// 100 followers of GET /events at once on the real server (the built command, its Engine calls
// through the recording proxy): each gets the same events with the same ids, each has its own
// Engine feed, and every one of those is released when its follower leaves.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import http from 'node:http';
import { HydroplaneClient, serverSentEvents } from '../../src/client.ts';
import type { RuntimeEvent } from '../../src/runtimes/runtime.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip, engineInfo } from '../support/docker.ts';
import { startEngineProxy, type EngineProxy } from '../support/engine-proxy.ts';
import { withTimeout } from '../support/event-feed.ts';
import { startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

const run = new DockerTestRun();
const skip = await dockerSkip();
const FOLLOWERS = 100;

async function until(done: () => boolean, what: () => string, ms = 60_000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!done()) await new Promise((r) => setTimeout(r, 25));
    })(),
    ms,
    what,
  );
}

describe(`${FOLLOWERS} followers of GET /events on the real server`, { skip }, () => {
  let proxy: EngineProxy;
  let server: ServerProcess;
  let client: HydroplaneClient;

  before(async () => {
    proxy = await startEngineProxy(join(await mkdtemp(join(tmpdir(), 'hp-events-e2e-')), 'engine.sock'));
    const config = await writeConfig(
      `runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n  docker_host: unix://${proxy.socketPath}\n`,
    );
    server = await startServerProcess(['-c', config], { LOG_LEVEL: 'warn' });
    client = new HydroplaneClient(`127.0.0.1:${server.port}`);
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
    await proxy?.close();
  });

  it('tells each of them the same events, then releases every Engine feed when they leave', async () => {
    const group = `${run.prefix}many`;
    const name = run.name('many');
    const engineFeeds = () => proxy.calls.filter((c) => c.path === '/events');
    const leave = new AbortController();
    const got: RuntimeEvent[][] = Array.from({ length: FOLLOWERS }, () => []);
    // node:http, a connection each: fetch, asked for 100 streams at once, also opens connections
    // that it never uses, and a connection that never sends a byte holds up the server's close.
    const reading = got.map((events) =>
      (async () => {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http
            .get(`http://127.0.0.1:${server.port}/events?group=${group}`, { signal: leave.signal, agent: false }, resolve)
            .on('error', reject),
        );
        assert.equal(res.statusCode, 200);
        res.setEncoding('utf8');
        try {
          for await (const m of serverSentEvents(res as AsyncIterable<string>)) {
            if (m.event === 'process') events.push({ ...JSON.parse(m.data), id: m.id });
          }
        } catch (err) {
          if (!leave.signal.aborted) throw err;
        }
      })(),
    );
    await until(
      () => engineFeeds().filter((c) => Number.isNaN(c.closed)).length === FOLLOWERS,
      () => `${FOLLOWERS} Engine feeds open; ${engineFeeds().length} seen`,
    );

    await client.start({ process_name: name, group, container: { image_uri: TEST_IMAGE, command: ['sleep', '600'] } });
    await client.stop(name);
    await until(
      () => got.every((events) => events.some((e) => e.type === 'removed')),
      () => `every follower to see ${name} removed; ${got.filter((events) => events.some((e) => e.type === 'removed')).length} did`,
    );
    const first = got[0]!;
    // Podman sends no kill or stop for a stop: it is told as an exit there (docs/events.md).
    const stopped = (await engineInfo()).kind === 'podman' ? 'exited' : 'stopped';
    assert.deepEqual(
      first.map((e) => [e.process_name, e.type, e.group]),
      [
        [name, 'created', group],
        [name, 'running', group],
        [name, stopped, group],
        [name, 'removed', group],
      ],
    );
    for (const events of got) assert.deepEqual(events, first, 'every follower has the same events, ids and times');

    leave.abort();
    await Promise.all(reading);
    await until(
      () => engineFeeds().every((c) => !Number.isNaN(c.closed)),
      () => `every Engine feed to close; ${engineFeeds().filter((c) => Number.isNaN(c.closed)).length} still open`,
      30_000,
    );
    assert.equal(engineFeeds().length, FOLLOWERS, 'one Engine feed per follower, none opened again');
    const metrics = await client.request('GET', '/health');
    assert.deepEqual(metrics, { status: 'ok', runtime: 'docker' });
  });
});
