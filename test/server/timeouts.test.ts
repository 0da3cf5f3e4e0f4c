// Connection timeouts on a real socket, with small limits: a client that dribbles its headers or
// its body, or keeps an idle connection, is cut off; a long-poll and a silent log follow that
// outlive every limit still get their answers.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const LIMITS = { headersMs: 400, requestMs: 800, keepAliveMs: 400 };
/** Longer than every limit above. */
const OUTLIVE_MS = 2000;
/** Generous: only a connection that is never closed fails. */
const GIVE_UP_MS = 15_000;

let app: FastifyInstance;
let runtime: FakeRuntime;
let port: number;

before(async () => {
  runtime = new FakeRuntime();
  app = await buildApp({ runtime, logger: false, dashboard: false, waitPollMs: 50, timeouts: LIMITS });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
after(() => app.close());

interface Connection {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

async function open(): Promise<Connection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (d) => (received += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

/** Writes a piece every `everyMs` until the connection closes; rejects if it is still open after GIVE_UP_MS. */
async function dribble(connection: Connection, piece: string, everyMs = 100): Promise<number> {
  let writes = 0;
  const timer = setInterval(() => {
    if (!connection.socket.destroyed && connection.socket.writable) {
      connection.socket.write(piece);
      writes++;
    }
  }, everyMs);
  try {
    await closedWithin(connection);
    return writes;
  } finally {
    clearInterval(timer);
  }
}

async function closedWithin(connection: Connection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the connection is still open after ${GIVE_UP_MS} ms; received: ${connection.received()}`)),
      GIVE_UP_MS,
    );
  });
  try {
    await Promise.race([connection.closed, giveUp]);
  } finally {
    clearTimeout(timer);
    connection.socket.destroy();
  }
}

/** A raw HTTP answer: this status, and the contract's error body. */
function assertErrorAnswer(raw: string, status: number, code: string): void {
  assert.match(raw, new RegExp(`^HTTP/1\\.1 ${status} `), raw);
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: number; code: string; details: string };
  assert.equal(body.error, status, raw);
  assert.equal(body.code, code, raw);
  assert.doesNotMatch(body.details, /[\u0000-\u001f]/);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connection timeouts', () => {
  it('closes a connection that dribbles its headers', async () => {
    const connection = await open();
    connection.socket.write(`GET /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const writes = await dribble(connection, 'X-Slow: a\r\n');
    // It kept writing for longer than the headers limit, and got a 408 in the error shape.
    assert.ok(writes * 100 >= LIMITS.headersMs, `${writes} writes`);
    assertErrorAnswer(connection.received(), 408, 'request_timeout');
  });

  it('closes a connection that sends nothing at all', async () => {
    const connection = await open();
    await closedWithin(connection);
    assert.doesNotMatch(connection.received(), /200 OK/);
  });

  it('closes a connection that dribbles its body', async () => {
    const connection = await open();
    connection.socket.write(
      `POST /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
    );
    await dribble(connection, ' ');
    assert.equal(runtime.processes.size, 0);
    assert.doesNotMatch(connection.received(), /^HTTP\/1\.1 201/);
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const connection = await open();
    connection.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await closedWithin(connection);
    assert.match(connection.received(), /^HTTP\/1\.1 200 /);
    assert.match(connection.received(), /keep-alive/i);
  });

  it('a long-poll that outlives every limit still gets its answer', async () => {
    await runtime.start({
      process_name: 'slow',
      group: null,
      has_public_ip: false,
      container: { image_uri: 'busybox', ports: [] },
    } as never);
    runtime.processes.set('slow', { ...runtime.processes.get('slow')!, status: 'STARTING' });
    const answer = fetch(`http://127.0.0.1:${port}/process/slow?wait=running&timeout=60`);
    await sleep(OUTLIVE_MS);
    runtime.processes.set('slow', { ...runtime.processes.get('slow')!, status: 'RUNNING' });
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'RUNNING');
  });

  it('a followed log that stays silent past every limit still gets what comes next, and its end', async () => {
    await runtime.start({
      process_name: 'quiet',
      group: null,
      has_public_ip: false,
      container: { image_uri: 'busybox', ports: [] },
    } as never);
    runtime.setLog('quiet', 'first\n');
    const res = await fetch(`http://127.0.0.1:${port}/process/quiet/logs?follow=true`);
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('first\n')) text += (await reader.read()).value ?? '';
    await sleep(OUTLIVE_MS);
    runtime.appendLog('quiet', 'later\n');
    while (!text.includes('later\n')) {
      const { value, done } = await reader.read();
      assert.equal(done, false, `the follow ended early: ${JSON.stringify(text)}`);
      text += value;
    }
    runtime.exit('quiet', 0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.equal(text, 'first\nlater\n');
  });

  it('a request that the HTTP parser refuses is answered in the error shape, and the server goes on', async () => {
    for (const [request, status, code] of [
      [`GET /process/a\u0000b HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 400, 'invalid_request'],
      [`GET /process?x=\u001b[2J HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 400, 'invalid_request'],
      [`GET /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nBad Header: x\r\n\r\n`, 400, 'invalid_request'],
      [`GET /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ] as const) {
      const connection = await open();
      connection.socket.write(request);
      await closedWithin(connection);
      assertErrorAnswer(connection.received(), status, code);
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  });

  it('a refused request pipelined behind a streaming answer ends the connection without writing into that answer', async () => {
    await runtime.start({
      process_name: 'piped',
      group: null,
      has_public_ip: false,
      container: { image_uri: 'busybox', ports: [] },
    } as never);
    runtime.setLog('piped', 'first\n');
    const connection = await open();
    connection.socket.write(`GET /process/piped/logs?follow=true HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    while (!connection.received().includes('first')) await sleep(10);
    connection.socket.write(`GET /pro\u0000cess HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await closedWithin(connection);
    runtime.exit('piped', 0);
    const received = connection.received();
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(received, /HTTP\/1\.1 400/, 'a second answer was written into the streaming one');
  });
});
