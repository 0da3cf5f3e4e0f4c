// What the server writes to its log about the world rather than its own bugs: a runtime that is
// away is a warning with a message and no stack trace, a client that leaves a followed log is not
// worth a line at info, and only a real bug (500) gets a stack trace.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

type Line = Record<string, unknown> & { level: number; msg: string };

async function setup() {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Line);
      done();
    },
  });
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: pino({ level: 'info' }, sink) as FastifyBaseLogger, dashboard: false });
  await runtime.start(ProcessSpec.parse({ process_name: 'web', container: { image_uri: 'nginx' } }));
  return { app, runtime, lines };
}

const WARN = 40;
const ERROR = 50;

describe('the server log', () => {
  it('says that the runtime is away as warnings without a stack trace', async () => {
    const { app, runtime, lines } = await setup();
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the docker runtime cannot reach the Docker Engine', {
      cause: new Error('connect ENOENT /var/run/docker.sock'),
    });
    assert.equal((await app.inject({ url: '/process' })).statusCode, 503);
    await new Promise((r) => setImmediate(r));
    assert.ok(lines.length >= 2, JSON.stringify(lines));
    for (const line of lines) {
      assert.equal(line.level, WARN, JSON.stringify(line));
      assert.doesNotMatch(JSON.stringify(line), /"stack"|at .*\.ts:\d+/, 'no stack trace');
    }
    assert.ok(lines.some((l) => l.msg.includes('cannot reach the Docker Engine')));
  });

  it('gives a real bug its stack trace, at error', async () => {
    const { app, runtime, lines } = await setup();
    runtime.failWith = new TypeError('undefined is not a function') as unknown as HydroplaneError;
    assert.equal((await app.inject({ url: '/process' })).statusCode, 500);
    await new Promise((r) => setImmediate(r));
    const bug = lines.find((l) => l.level === ERROR && l.msg !== 'request');
    assert.ok(bug, JSON.stringify(lines));
    assert.match(JSON.stringify(bug), /"stack":"TypeError: undefined is not a function/);
  });

  it('writes nothing at info or above when a client leaves a followed log', async () => {
    const { app, runtime, lines } = await setup();
    runtime.setLog('web', 'one\n');
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/process/web/logs?follow=true`;
      const controller = new AbortController();
      const res = await fetch(url, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      for (let i = 0; i < 200 && runtime.openFollows > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(runtime.openFollows, 0);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await app.close();
    }
    // The test's own listen() says where it listens; anything else but the request line is noise.
    const odd = lines.filter((l) => l.msg !== 'request' && !l.msg.startsWith('Server listening at'));
    assert.deepEqual(odd, [], 'only the request line');
    assert.ok(
      lines.every((l) => l.level < WARN),
      JSON.stringify(lines),
    );
  });
});
