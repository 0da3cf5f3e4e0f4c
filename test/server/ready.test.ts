// GET /ready: 200 while the runtime answers its ping, 503 in the error shape while it does not,
// without a token and whatever the Host (probes carry neither), telling no more than /health, and
// saying why in the log once each time the answer changes.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function setup(options: { apiToken?: string; readyFreshMs?: number } = {}) {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as { level: number; msg: string });
      done();
    },
  });
  const runtime = new FakeRuntime();
  const app = await buildApp({
    runtime,
    logger: pino({ level: 'info' }, sink) as FastifyBaseLogger,
    dashboard: false,
    readyFreshMs: 0,
    ...options,
  });
  return { app, runtime, lines };
}

const away = new HydroplaneError('runtime_unavailable', 'cannot reach the Docker Engine at unix:///secret/path.sock');

describe('GET /ready', () => {
  it('is 200 while the runtime answers, 503 in the error shape while it does not, and 200 again', async () => {
    const { app, runtime } = await setup();
    const ready = await app.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', runtime: 'docker' });
    runtime.failWith = away;
    const unready = await app.inject({ url: '/ready' });
    assert.equal(unready.statusCode, 503);
    const body = unready.json<{ error: number; code: string; details: string }>();
    assert.equal(body.error, 503);
    assert.equal(body.code, 'runtime_unavailable');
    assert.doesNotMatch(body.details, /secret\/path/, 'why is for the log, not for an unauthenticated caller');
    runtime.failWith = undefined;
    assert.equal((await app.inject({ url: '/ready' })).statusCode, 200);
  });

  it('logs why once when the runtime stops answering, and once when it is back', async () => {
    const { app, runtime, lines } = await setup();
    runtime.failWith = away;
    for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: '/ready' })).statusCode, 503);
    runtime.failWith = undefined;
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/ready' })).statusCode, 200);
    await new Promise((r) => setImmediate(r));
    const said = lines.filter((l) => l.msg !== 'request').map((l) => [l.level, l.msg]);
    assert.deepEqual(said, [
      [40, 'not ready: cannot reach the Docker Engine at unix:///secret/path.sock'],
      [30, 'ready: the runtime answers again'],
    ]);
  });

  it('needs no token and no particular Host, as /health', async () => {
    const withToken = await setup({ apiToken: 'tok' });
    assert.equal((await withToken.app.inject({ url: '/ready' })).statusCode, 200);
    assert.equal((await withToken.app.inject({ url: '/process' })).statusCode, 401);
    const noToken = await setup();
    assert.equal((await noToken.app.inject({ url: '/ready', headers: { host: '10.1.2.3:8000' } })).statusCode, 200);
    assert.equal((await noToken.app.inject({ url: '/process', headers: { host: '10.1.2.3:8000' } })).statusCode, 421);
  });

  it('refuses a query parameter, as every route does', async () => {
    const { app } = await setup();
    assert.equal((await app.inject({ url: '/ready?verbose=1' })).statusCode, 400);
  });

  it('answers the probes of one moment with one ping: whoever reaches the port cannot drive a runtime call per request', async () => {
    const { app, runtime } = await setup({ readyFreshMs: 60_000 });
    let pings = 0;
    const ping = runtime.ping.bind(runtime);
    runtime.ping = async () => {
      pings++;
      await new Promise((r) => setTimeout(r, 20));
      return ping();
    };
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: '/ready' })));
    assert.ok(answers.every((a) => a.statusCode === 200));
    assert.equal((await app.inject({ url: '/ready' })).statusCode, 200);
    assert.equal(pings, 1);
  });
});
