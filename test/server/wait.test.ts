// GET /process/{name}?wait=running: a long-poll that answers once the process settles or at its
// timeout. The fake runtime's status is changed while a request waits.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function setup(waitPollMs = 10, maxEventStreams?: number) {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, dashboard: false, waitPollMs, ...(maxEventStreams ? { maxEventStreams } : {}) });
  await runtime.start(ProcessSpec.parse({ process_name: 'web', container: { image_uri: 'nginx' } }));
  const set = (change: Partial<ProcessInfo>) => runtime.processes.set('web', { ...runtime.processes.get('web')!, ...change });
  set({ status: 'STARTING' });
  // Counts the runtime's get() calls, so a test can act once the request is waiting.
  let gets = 0;
  const get = runtime.get.bind(runtime);
  runtime.get = (name) => {
    gets++;
    return get(name);
  };
  const waiting = async (calls = 2) => {
    // oxlint-disable-next-line no-unmodified-loop-condition -- the request's get() calls, above, count gets meanwhile
    while (gets < calls) await new Promise((r) => setTimeout(r, 5));
  };
  return { runtime, app, set, waiting, gets: () => gets };
}

describe('GET /process/{name}?wait=running', () => {
  it('answers at once without wait, whatever the status', async () => {
    const { app, gets } = await setup();
    const res = await app.inject({ url: '/process/web' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'STARTING');
    assert.equal(gets(), 1);
  });

  it('answers as soon as the process runs', async () => {
    const { app, set, waiting } = await setup();
    const pending = app.inject({ url: '/process/web?wait=running&timeout=300' });
    await waiting();
    set({ status: 'RUNNING' });
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'RUNNING');
  });

  it('answers when the process exits or fails, with the exit code or the reason', async () => {
    const exited = await setup();
    const first = exited.app.inject({ url: '/process/web?wait=running' });
    await exited.waiting();
    exited.set({ status: 'EXITED', exit_code: 3 });
    assert.deepEqual([(await first).json().status, (await first).json().exit_code], ['EXITED', 3]);

    const failed = await setup();
    const second = failed.app.inject({ url: '/process/web?wait=running' });
    await failed.waiting();
    failed.set({ status: 'FAILED', reason: 'ErrImagePull: no such image' });
    assert.deepEqual([(await second).json().status, (await second).json().reason], ['FAILED', 'ErrImagePull: no such image']);
  });

  it('answers a process that already runs without waiting', async () => {
    const { app, set, gets } = await setup();
    set({ status: 'RUNNING' });
    assert.equal((await app.inject({ url: '/process/web?wait=running' })).json().status, 'RUNNING');
    assert.equal(gets(), 1);
  });

  it('answers at the timeout with the status as it is', async () => {
    const { app, gets } = await setup();
    const res = await app.inject({ url: '/process/web?wait=running&timeout=0.2' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'STARTING');
    assert.ok(gets() > 2, `polled the runtime (${gets()} calls)`);
  });

  it('answers 404 for a missing process, and for one stopped during the wait', async () => {
    const { app, runtime, waiting } = await setup();
    assert.equal((await app.inject({ url: '/process/nope?wait=running' })).statusCode, 404);
    const pending = app.inject({ url: '/process/web?wait=running' });
    await waiting(3);
    await runtime.stop('web');
    const res = await pending;
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'process_not_found');
  });

  for (const query of ['wait=started', 'wait=running&timeout=301', 'wait=running&timeout=-1', 'wait=running&timeout=soon']) {
    it(`answers 400 for ?${query}`, async () => {
      const { app } = await setup();
      const res = await app.inject({ url: `/process/web?${query}` });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'invalid_request');
    });
  }

  it("answers at the runtime's event, without waiting for a poll, and releases the feed", async () => {
    // A poll a minute: only the event can answer within the test.
    const { app, runtime, waiting, gets } = await setup(60_000);
    const began = Date.now();
    const pending = app.inject({ url: '/process/web?wait=running&timeout=120' });
    await waiting(2);
    assert.equal(runtime.openFeeds, 1, 'the wait follows the feed');
    assert.deepEqual(runtime.lastEventOptions?.filter, { processName: 'web' });
    runtime.exit('web', 3);
    const res = await pending;
    assert.equal(res.json().status, 'EXITED');
    assert.equal(res.json().exit_code, 3);
    assert.ok(Date.now() - began < 5000, `answered in ${Date.now() - began} ms`);
    assert.equal(gets(), 3, 'one get, one once the feed is open, one at the event');
    assert.equal(runtime.openFeeds, 0, 'the feed is released with the answer');
  });

  it('counts its feed against max_event_streams: past it a wait polls without one, and GET /events is refused', async () => {
    const { app, runtime, set, waiting, gets } = await setup(10, 2);
    const first = app.inject({ url: '/process/web?wait=running&timeout=60' });
    const second = app.inject({ url: '/process/web?wait=running&timeout=60' });
    await waiting(4);
    assert.equal(runtime.openFeeds, 2, 'two waits, two feeds');
    const stream = await app.inject({ url: '/events' });
    assert.equal(stream.statusCode, 503);
    assert.equal(stream.json().code, 'too_many_event_streams');
    const third = app.inject({ url: '/process/web?wait=running&timeout=60' });
    const before = gets();
    // oxlint-disable-next-line no-unmodified-loop-condition -- the waits' get() calls count gets meanwhile
    while (gets() < before + 5) await new Promise((r) => setTimeout(r, 5));
    assert.equal(runtime.openFeeds, 2, 'the third wait polls without a feed');
    set({ status: 'RUNNING' });
    for (const res of await Promise.all([first, second, third])) assert.equal(res.json().status, 'RUNNING');
    assert.equal(runtime.openFeeds, 0);
    // Every slot is free again.
    set({ status: 'STARTING' });
    const again = [1, 2].map(() => app.inject({ url: '/process/web?wait=running&timeout=60' }));
    // oxlint-disable-next-line no-unmodified-loop-condition -- the feeds open in the requests
    while (runtime.openFeeds < 2) await new Promise((r) => setTimeout(r, 5));
    set({ status: 'RUNNING' });
    await Promise.all(again);
  });

  it('polls every waitPollMs on a runtime without a feed', async () => {
    const { app, runtime, set, waiting, gets } = await setup(10);
    runtime.events = async () => {
      throw new HydroplaneError('unsupported', 'no feed here');
    };
    const pending = app.inject({ url: '/process/web?wait=running&timeout=60' });
    await waiting(5);
    set({ status: 'RUNNING' });
    assert.equal((await pending).json().status, 'RUNNING');
    assert.ok(gets() >= 5);
  });

  it('answers waiting requests at once when the server closes', async () => {
    const { app, waiting } = await setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const pending = fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/process/web?wait=running&timeout=300`);
    await waiting();
    await app.close();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as ProcessInfo).status, 'STARTING');
  });
});
