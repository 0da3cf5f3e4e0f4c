// A counting proxy in front of the Docker Engine, on a unix socket: a server whose docker_host is
// this socket makes the same Engine calls as usual, and each one is recorded. Only the counting
// server goes through it, so the timed server's calls pay nothing for the counting.
import http from 'node:http';
import { createServer, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

export interface EngineCall {
  method: string;
  /** The path without the API version prefix and the query: /containers/json */
  path: string;
}

export interface EngineProxy {
  socketPath: string;
  calls: EngineCall[];
  reset(): void;
  close(): Promise<void>;
}

/** Where the real Engine is, as DOCKER_HOST says (unix or tcp), else the default socket. */
function upstream(): http.RequestOptions {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('tcp://') || host?.startsWith('http://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: url.port || 2375 };
  }
  return { socketPath: host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock' };
}

export async function startEngineProxy(socketPath: string): Promise<EngineProxy> {
  const target = upstream();
  const calls: EngineCall[] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v\d+(\.\d+)?/, '');
    calls.push({ method: req.method ?? 'GET', path });
    const forward = http.request({ ...target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `bench engine proxy: ${err.message}` }));
    });
    // The client giving up (its timeout) ends the upstream call too.
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    calls,
    reset: () => {
      calls.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A unix socket that accepts connections and never answers: an Engine that hangs. */
export async function startSilentSocket(socketPath: string): Promise<{ socketPath: string; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume();
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
