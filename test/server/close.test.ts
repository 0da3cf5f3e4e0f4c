// The server's close on a real socket: a connection that has sent nothing, or is idle between
// requests, does not hold the close up; an event stream open at the close ends.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { it } from 'node:test';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

/** Far longer than a close takes, far shorter than a client that keeps a connection open. */
const CLOSE_WITHIN_MS = 5000;

async function started() {
  const app = await buildApp({ runtime: new FakeRuntime(), logger: false, dashboard: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as { port: number }).port };
}

async function opened(port: number): Promise<{ socket: Socket; closed: Promise<void>; received: () => string }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (d) => (received += d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, closed, received: () => received };
}

async function closesWithin(close: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the close took more than ${CLOSE_WITHIN_MS} ms`)), CLOSE_WITHIN_MS);
  });
  try {
    await Promise.race([close, late]);
  } finally {
    clearTimeout(timer);
  }
}

it('closes with a connection that has sent nothing, and drops it', async () => {
  const { app, port } = await started();
  const silent = await opened(port);
  await new Promise((resolve) => setTimeout(resolve, 100));
  try {
    await closesWithin(app.close());
    await silent.closed;
  } finally {
    silent.socket.destroy();
  }
});

it('closes with a connection that sent half its headers, and with an idle keep-alive one', async () => {
  const { app, port } = await started();
  const half = await opened(port);
  half.socket.write('GET /process HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const idle = await opened(port);
  idle.socket.write(`GET /process HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  for (let i = 0; i < 100 && !idle.received().includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(idle.received(), /^HTTP\/1\.1 200/);
  try {
    await closesWithin(app.close());
  } finally {
    half.socket.destroy();
    idle.socket.destroy();
  }
});

it('ends an open event stream at the close', async () => {
  const { app, port } = await started();
  const follower = await opened(port);
  follower.socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  for (let i = 0; i < 100 && !follower.received().includes('retry:'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(follower.received(), /^HTTP\/1\.1 200[\s\S]*text\/event-stream[\s\S]*retry: \d+/);
  try {
    await closesWithin(app.close());
    await follower.closed;
  } finally {
    follower.socket.destroy();
  }
});
