// GET /events with the fake runtime, over real sockets (a stream is what is tested): the SSE format,
// filters, resuming, errors before and during the stream, heartbeats, and that every feed is
// released when its client leaves or the server closes.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { ApiError, HydroplaneClient, serverSentEvents } from '../../src/client.ts';
import { HydroplaneError } from '../../src/errors.ts';
import type { RuntimeEvent } from '../../src/runtimes/runtime.ts';
import { buildApp } from '../../src/server/app.ts';
import { eventText } from '../../src/server/routes/events.ts';
import { PROCESS_EVENT_TYPES, ProcessEvent } from '../../src/spec/process-event.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const spec = (name: string, group?: string) =>
  ProcessSpec.parse({ process_name: name, ...(group ? { group } : {}), container: { image_uri: 'nginx' } });

async function serve(options: { heartbeatMs?: number; apiToken?: string; maxEventStreams?: number } = {}) {
  const runtime = new FakeRuntime();
  const app = await buildApp({
    runtime,
    logger: false,
    dashboard: false,
    eventHeartbeatMs: options.heartbeatMs ?? 15_000,
    ...(options.apiToken ? { apiToken: options.apiToken } : {}),
    ...(options.maxEventStreams ? { maxEventStreams: options.maxEventStreams } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { runtime, app, base };
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Reads a response body as text in the background. */
function reader(res: Response) {
  const state = { text: '', ended: false, error: undefined as unknown };
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body!) state.text += decoder.decode(chunk, { stream: true });
    } catch (err) {
      state.error = err;
    } finally {
      state.ended = true;
    }
  })();
  return state;
}

async function closeApp(app: FastifyInstance) {
  await app.close();
}

describe('GET /events', () => {
  it('streams text/event-stream: a retry line at once, then each event as id, event: process and one data line', async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    const controller = new AbortController();
    t.after(() => controller.abort());
    const res = await fetch(`${base}/events`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = reader(res);
    await waitUntil(() => body.text.startsWith('retry: '), 'the first line');
    await runtime.start(spec('web', 'g1'));
    await runtime.stop('web');
    await waitUntil(() => (body.text.match(/\n\n/g) ?? []).length >= 5, 'four events');
    const blocks = body.text.split('\n\n').filter((b) => b !== '');
    assert.match(blocks[0]!, /^retry: \d+$/);
    const events = blocks.slice(1).map((block) => {
      const lines = block.split('\n');
      assert.equal(lines.length, 3, block);
      assert.match(lines[0]!, /^id: \S+$/);
      assert.equal(lines[1], 'event: process');
      assert.match(lines[2]!, /^data: \{/);
      return { id: lines[0]!.slice(4), data: ProcessEvent.parse(JSON.parse(lines[2]!.slice(6))) };
    });
    assert.deepEqual(
      events.map((e) => [e.data.type, e.data.status, e.data.process_name, e.data.group]),
      [
        ['created', 'STARTING', 'web', 'g1'],
        ['running', 'RUNNING', 'web', 'g1'],
        ['stopped', 'EXITED', 'web', 'g1'],
        ['removed', 'REMOVED', 'web', 'g1'],
      ],
    );
    assert.deepEqual(
      events.map((e) => e.id),
      runtime.eventHistory.map((e) => e.id),
    );
  });

  it('passes ?group and ?process to the runtime, and tells only those', async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    const client = new HydroplaneClient(base);
    const controller = new AbortController();
    t.after(() => controller.abort());
    const got: RuntimeEvent[] = [];
    const feed = await client.events({ group: 'g1', process: 'a' }, controller.signal);
    assert.deepEqual(runtime.lastEventOptions?.filter, { group: 'g1', processName: 'a' });
    void (async () => {
      for await (const e of feed) got.push(e);
    })();
    await runtime.start(spec('b', 'g1'));
    await runtime.start(spec('a', 'g2'));
    await runtime.start(spec('a2', 'g1'));
    await runtime.stop('a');
    await runtime.start(spec('a', 'g1'));
    await waitUntil(() => got.length >= 2, 'the events of a in g1');
    assert.deepEqual(
      got.map((e) => [e.process_name, e.group, e.type]),
      [
        ['a', 'g1', 'created'],
        ['a', 'g1', 'running'],
      ],
    );
  });

  it('resumes after Last-Event-ID, or after ?last_event_id when no header is sent; the header wins', async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    await runtime.start(spec('web'));
    await runtime.stop('web');
    const read = async (url: string, headers: Record<string, string>, count: number) => {
      const controller = new AbortController();
      const res = await fetch(`${base}${url}`, { headers, signal: controller.signal });
      assert.equal(res.status, 200);
      const ids: string[] = [];
      for await (const m of serverSentEvents(textChunks(res))) {
        ids.push(m.id!);
        if (ids.length === count) break;
      }
      controller.abort();
      return ids;
    };
    assert.deepEqual(await read('/events', { 'last-event-id': '1' }, 3), ['2', '3', '4']);
    assert.equal(runtime.lastEventOptions?.after, '1');
    assert.deepEqual(await read('/events?last_event_id=2', {}, 2), ['3', '4']);
    assert.deepEqual(await read('/events?last_event_id=1', { 'last-event-id': '3' }, 1), ['4']);
    assert.equal(runtime.lastEventOptions?.after, '3');
    await waitUntil(() => runtime.openFeeds === 0, 'every feed released');
  });

  it('answers 400 in the error shape for a bad query or event id, before any stream', async (t) => {
    const { runtime, app } = await serve();
    t.after(() => closeApp(app));
    for (const [url, headers, words] of [
      ['/events?gruop=a', {}, /gruop/],
      ['/events?group=a,b', {}, /group/],
      ['/events?group=', {}, /group/],
      ['/events?process=no%20such', {}, /process/],
      ['/events?process=a&process=b', {}, /process/],
      [`/events?last_event_id=${'1'.repeat(201)}`, {}, /last_event_id/],
      ['/events', { 'last-event-id': 'a b' }, /last-event-id/],
      ['/events', { 'last-event-id': 'not-a-number' }, /resume after/],
    ] as Array<[string, Record<string, string>, RegExp]>) {
      const res = await app.inject({ url, headers });
      assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(headers)}: ${res.body}`);
      assert.match(res.headers['content-type'] as string, /^application\/json/);
      const body = res.json();
      assert.equal(body.error, 400);
      assert.match(body.details, words, url);
    }
    assert.equal(runtime.openFeeds, 0);
  });

  it("answers the runtime's error when the feed cannot open (503 for an unreachable runtime), not a stream", async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the Docker Engine does not answer');
    const res = await app.inject({ url: '/events' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: 503, details: 'the Docker Engine does not answer', code: 'runtime_unavailable' });
    await assert.rejects(new HydroplaneClient(base).events(), (err: unknown) => err instanceof ApiError && err.status === 503);
  });

  it('tells an error of the feed while streaming as event: error, and ends the stream', async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    runtime.events = async () =>
      (async function* () {
        yield { id: '1', type: 'running', process_name: 'web', group: null, time: new Date().toISOString(), status: 'RUNNING' } as const;
        throw new HydroplaneError('runtime_unavailable', 'the Engine went away');
      })();
    const res = await fetch(`${base}/events`);
    const text = await res.text();
    assert.match(
      text,
      /id: 1\nevent: process\ndata: .*\n\nevent: error\ndata: \{"error":503,"details":"the Engine went away","code":"runtime_unavailable"\}\n\n$/,
    );
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of await new HydroplaneClient(base).events()) got.push(e.type);
      })(),
      (err: unknown) => err instanceof ApiError && err.status === 503 && /went away/.test(err.message),
    );
    assert.deepEqual(got, ['running']);
  });

  it('sends a comment line on a quiet stream every heartbeat', async (t) => {
    const { app, base } = await serve({ heartbeatMs: 40 });
    t.after(() => closeApp(app));
    const controller = new AbortController();
    t.after(() => controller.abort());
    const body = reader(await fetch(`${base}/events`, { signal: controller.signal }));
    await waitUntil(() => (body.text.match(/^: keep-alive\n\n/gm) ?? []).length >= 3, 'three heartbeats');
  });

  it('releases the feed when the client leaves, many times over (no leak), and counts opens in /metrics', async (t) => {
    const { runtime, app, base } = await serve({ heartbeatMs: 20 });
    t.after(() => closeApp(app));
    for (let round = 0; round < 3; round++) {
      const controllers = Array.from({ length: 20 }, () => new AbortController());
      const bodies = await Promise.all(controllers.map(async (c) => reader(await fetch(`${base}/events`, { signal: c.signal }))));
      await waitUntil(() => runtime.openFeeds === 20, '20 feeds open');
      await waitUntil(() => bodies.every((b) => b.text.includes('retry:')), 'every stream to begin');
      for (const c of controllers) c.abort();
      await waitUntil(() => runtime.openFeeds === 0, 'every feed released after the clients left');
    }
    let metrics = '';
    for (let i = 0; i < 100 && !/hydroplane_event_feeds\{runtime="docker"\} 0\n/.test(metrics); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      metrics = await (await fetch(`${base}/metrics`)).text();
    }
    assert.match(metrics, /hydroplane_event_feeds\{runtime="docker"\} 0\n/, 'the gauge of open feeds is back to 0');
    assert.match(metrics, /hydroplane_runtime_call_duration_seconds_count\{runtime="docker",operation="events",outcome="ok"\} 60\n/);
  });

  it('ends every stream when the server closes, and the close is not held up', async () => {
    const { runtime, app, base } = await serve();
    const bodies = await Promise.all([1, 2, 3].map(async () => reader(await fetch(`${base}/events`))));
    await waitUntil(() => runtime.openFeeds === 3, 'three feeds');
    const began = Date.now();
    await app.close();
    assert.ok(Date.now() - began < 5000, 'the close took under 5 s');
    await waitUntil(() => bodies.every((b) => b.ended), 'every stream to end');
    assert.equal(runtime.openFeeds, 0);
  });

  it('follows at most maxEventStreams streams at once: more get 503 too_many_event_streams, and a slot frees when one ends', async (t) => {
    const { runtime, app, base } = await serve({ maxEventStreams: 2 });
    t.after(() => closeApp(app));
    // A feed that cannot open gives its slot back.
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the Docker Engine does not answer');
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/events' })).statusCode, 503);
    runtime.failWith = undefined;
    const controllers = [new AbortController(), new AbortController()];
    const bodies = await Promise.all(controllers.map(async (c) => reader(await fetch(`${base}/events`, { signal: c.signal }))));
    t.after(() => controllers.forEach((c) => c.abort()));
    await waitUntil(() => runtime.openFeeds === 2, 'two feeds');
    const refused = await fetch(`${base}/events`);
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { error: number; code: string; details: string };
    assert.equal(body.code, 'too_many_event_streams');
    assert.match(body.details, /max_event_streams/);
    assert.equal(runtime.openFeeds, 2, 'the refused stream opened no feed');
    controllers[0]!.abort();
    await waitUntil(() => runtime.openFeeds === 1 && bodies[0]!.ended, 'the first follower to leave');
    const again = new AbortController();
    t.after(() => again.abort());
    let admitted: Response | undefined;
    for (let i = 0; i < 100 && admitted?.status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      admitted = await fetch(`${base}/events`, { signal: again.signal });
    }
    assert.equal(admitted?.status, 200, 'a stream is admitted once a slot is free');
  });

  it('refuses a cross-site page (Origin, Sec-Fetch-Site) and a foreign Host, as every other route', async (t) => {
    const { runtime, app } = await serve();
    t.after(() => closeApp(app));
    const port = (app.server.address() as AddressInfo).port;
    const host = `127.0.0.1:${port}`;
    const crossSite = [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of crossSite) {
      const res = await app.inject({ url: '/events', headers: { host, ...headers } });
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.equal(res.json().code, 'cross_site_request');
    }
    const rebound = await app.inject({ url: '/events', headers: { host: `evil.example:${port}` } });
    assert.equal(rebound.statusCode, 421);
    assert.equal(runtime.openFeeds, 0, 'no refused request opened a feed');
  });

  it('needs the API token like every other route', async (t) => {
    const { app } = await serve({ apiToken: 's3cret' });
    t.after(() => closeApp(app));
    assert.equal((await app.inject({ url: '/events' })).statusCode, 401);
  });

  it('ends the stream when the runtime ends its feed', async (t) => {
    const { runtime, app, base } = await serve();
    t.after(() => closeApp(app));
    const body = reader(await fetch(`${base}/events`));
    await waitUntil(() => runtime.openFeeds === 1, 'the feed to open');
    runtime.endFeeds();
    await waitUntil(() => body.ended, 'the stream to end');
    assert.equal(body.error, undefined);
  });
});

describe('the event stream text', () => {
  it('parses back to the same events, however the text is cut into chunks', async () => {
    const eventArb = fc.record({
      id: fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
      type: fc.constantFrom(...PROCESS_EVENT_TYPES),
      process_name: fc.string(),
      group: fc.option(fc.string(), { nil: null }),
      time: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('2200-01-01') }).map((d) => d.toISOString()),
      status: fc.constantFrom('STARTING', 'RUNNING', 'EXITED', 'FAILED', 'REMOVED' as const),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), async (events, cuts) => {
        const text = `retry: 2000\n\n: keep-alive\n\n${events.map((e) => eventText(e)).join(': keep-alive\n\n')}`;
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const p of [...points, text.length]) {
          chunks.push(text.slice(from, p));
          from = p;
        }
        const parsed = [];
        for await (const m of serverSentEvents(
          (async function* () {
            yield* chunks;
          })(),
        ))
          parsed.push({ ...JSON.parse(m.data), id: m.id });
        assert.deepEqual(
          parsed,
          events.map((e) => ({ ...e })),
        );
      }),
    );
  });

  it('reads CR and CRLF line ends and multi-line data as EventSource does', async () => {
    const messages = [];
    for await (const m of serverSentEvents(
      (async function* () {
        yield 'id: 7\r\nevent: x\r\ndata: a\r';
        yield '\ndata:b\r\rdata\n\n';
      })(),
    ))
      messages.push(m);
    assert.deepEqual(messages, [
      { event: 'x', data: 'a\nb', id: '7' },
      { event: 'message', data: '', id: '7' },
    ]);
  });
});

async function* textChunks(res: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) yield decoder.decode(chunk, { stream: true });
}
