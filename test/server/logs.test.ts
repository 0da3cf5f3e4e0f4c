// GET /process/{name}/logs through inject() and a real socket, with the fake runtime.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { parseSince } from '../../src/server/routes/logs.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function setup() {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, dashboard: false });
  await runtime.start(ProcessSpec.parse({ process_name: 'web', container: { image_uri: 'nginx' } }));
  return { runtime, app };
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('GET /process/{name}/logs', () => {
  it('answers the log as text/plain; charset=utf-8', async () => {
    const { app, runtime } = await setup();
    runtime.setLog('web', 'one\ntwo\nthree\n');
    const res = await app.inject({ url: '/process/web/logs' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body, 'one\ntwo\nthree\n');
    assert.deepEqual({ ...runtime.lastLogOptions, signal: undefined }, { signal: undefined });
  });

  it('passes tail, since, follow and timestamps to the runtime', async () => {
    const { app, runtime } = await setup();
    runtime.setLog('web', 'old\n', new Date(Date.now() - 3_600_000));
    runtime.appendLog('web', 'new 1\nnew 2\n');
    assert.equal((await app.inject({ url: '/process/web/logs?tail=1' })).body, 'new 2\n');
    assert.equal(runtime.lastLogOptions?.tail, 1);
    assert.equal((await app.inject({ url: '/process/web/logs?tail=0' })).body, '');

    const since = new Date(Date.now() - 60_000).toISOString();
    assert.equal((await app.inject({ url: `/process/web/logs?since=${since}` })).body, 'new 1\nnew 2\n');
    assert.equal(runtime.lastLogOptions?.since?.toISOString(), since);
    assert.equal((await app.inject({ url: '/process/web/logs?since=600' })).body, 'new 1\nnew 2\n');
    assert.equal((await app.inject({ url: '/process/web/logs?since=2h' })).body, 'old\nnew 1\nnew 2\n');

    const stamped = await app.inject({ url: '/process/web/logs?tail=1&timestamps=true&follow=false' });
    assert.match(stamped.body, /^\d{4}-\d\d-\d\dT[\d:.]+Z new 2\n$/);
    assert.equal(runtime.lastLogOptions?.timestamps, true);
    assert.equal(runtime.lastLogOptions?.follow, false);
  });

  it('answers 404 in the error shape for a missing process', async () => {
    const { app } = await setup();
    const res = await app.inject({ url: '/process/nope/logs' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 404, code: 'process_not_found', details: "no process named 'nope'" });
  });

  it('answers 503 when the runtime cannot be reached', async () => {
    const { app, runtime } = await setup();
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the fake runtime is away');
    const res = await app.inject({ url: '/process/web/logs' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'runtime_unavailable');
  });

  for (const [query, field] of [
    ['tail=-1', 'tail'],
    ['tail=abc', 'tail'],
    ['tail=1.5', 'tail'],
    ['since=yesterday', 'since'],
    ['since=2026-11-27T10:00:00', 'since'],
    ['since=-5', 'since'],
    ['follow=yes', 'follow'],
    ['timestamps=1', 'timestamps'],
    ['folow=true', 'folow'],
    ['tail=1&tail=2', 'tail'],
  ] as const) {
    it(`answers 400 naming '${field}' for ?${query}`, async () => {
      const { app } = await setup();
      const res = await app.inject({ url: `/process/web/logs?${query}` });
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.error, 400);
      assert.equal(body.code, 'invalid_request');
      assert.deepEqual(
        body.fields.map((f: { path: string }) => f.path),
        [field],
      );
    });
  }

  it('follows until the process ends', async () => {
    const { app, runtime } = await setup();
    runtime.setLog('web', 'first\n');
    const pending = app.inject({ url: '/process/web/logs?follow=true' });
    await waitUntil(() => runtime.openFollows === 1, 'the follow to open');
    runtime.appendLog('web', 'second\n');
    runtime.exit('web', 0);
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'first\nsecond\n');
    assert.equal(runtime.openFollows, 0);
  });

  it('over a socket: sends the headers at once, streams, and releases the follow when the client goes away', async () => {
    const { app, runtime } = await setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/process/web/logs?follow=true`;
      const controller = new AbortController();
      // No output yet: the answer must still start, for a page that shows the log as it comes.
      const res = await fetch(url, { signal: controller.signal });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(runtime.openFollows, 1);
      const reader = res.body!.getReader();
      runtime.appendLog('web', 'hello\n');
      assert.equal(new TextDecoder().decode((await reader.read()).value), 'hello\n');

      controller.abort();
      await waitUntil(() => runtime.openFollows === 0, 'the follow to be released');
      assert.equal((await runtime.get('web'))?.status, 'RUNNING');
    } finally {
      await app.close();
    }
  });

  it('ends open follows when the server closes, instead of holding the close up', async () => {
    const { app, runtime } = await setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/process/web/logs?follow=true`;
    const res = await fetch(url);
    assert.equal(runtime.openFollows, 1);
    await app.close();
    assert.equal(await res.text(), '');
    assert.equal(runtime.openFollows, 0);
  });

  it('parses since as an ISO date-time with a zone, or how long ago', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    assert.equal(parseSince('2026-11-27T10:00:00Z', now)?.toISOString(), '2026-11-27T10:00:00.000Z');
    assert.equal(parseSince('2026-11-27T10:00:00.5+02:00', now)?.toISOString(), '2026-11-27T08:00:00.500Z');
    assert.equal(parseSince('90', now)?.toISOString(), '2026-11-27T11:58:30.000Z');
    assert.equal(parseSince('10m', now)?.toISOString(), '2026-11-27T11:50:00.000Z');
    assert.equal(parseSince('2h', now)?.toISOString(), '2026-11-27T10:00:00.000Z');
    assert.equal(parseSince('1d', now)?.toISOString(), '2026-11-26T12:00:00.000Z');
    for (const bad of ['', 'now', '10x', '2026-11-27', '2026-11-27T10:00:00', '2026-13-45T10:00:00Z'])
      assert.equal(parseSince(bad, now), undefined, bad);
  });
});
