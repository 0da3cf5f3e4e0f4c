// A counting proxy in front of the Docker Engine, on a unix socket: a server whose docker_host is
// this socket makes the same Engine calls as usual, and each one is recorded with the Engine's
// answer. The bench counts calls through it (only the counting server goes through it, so the
// timed server's calls pay nothing for the counting); tests check which calls a server made.
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { engineConnection } from '../../src/runtimes/docker/connection.ts';

export interface EngineCall {
  method: string;
  /** The path without the API version prefix and the query: /containers/json */
  path: string;
  /** As sent, with the query. */
  url: string;
  /** performance.now() when the request arrived, and when its answer ended (NaN until then). */
  start: number;
  end: number;
  /** performance.now() when the connection of the call closed, answered or not (a stream its client left); NaN until then. */
  closed: number;
  /** The Engine's HTTP status, once it has answered. */
  status?: number;
}

export interface EngineProxy {
  socketPath: string;
  calls: EngineCall[];
  reset(): void;
  /**
   * While on, every call but a GET is answered 403 without reaching the Engine (and still
   * recorded): a test that must only read cannot change the Engine it shares with the user.
   */
  readOnly: boolean;
  close(): Promise<void>;
}

/** "GET /containers/{id}/json": a call's kind, without the ids and names in its path. */
export function callKind(call: EngineCall): string {
  const path = call.path
    .replace(/^\/containers\/(?!json$|create$)[^/]+/, '/containers/{id}')
    .replace(/^\/networks\/(?!create$)[^/]+$/, '/networks/{id}')
    .replace(/^\/images\/(?!create$|json$).+\/json$/, '/images/{ref}/json');
  return `${call.method} ${path}`;
}

/** "5 (2× GET /containers/{id}/json, POST /containers/create, ...)" */
export function describeCalls(calls: readonly EngineCall[]): string {
  const byKind = new Map<string, number>();
  for (const c of calls) byKind.set(callKind(c), (byKind.get(callKind(c)) ?? 0) + 1);
  return `${calls.length} (${[...byKind].map(([k, v]) => (v > 1 ? `${v}× ${k}` : k)).join(', ')})`;
}

/** Where the real Engine is, read as the runtime reads DOCKER_HOST (unix socket or plain tcp), else the default socket. */
function upstream(): http.RequestOptions {
  const { options } = engineConnection(undefined);
  return options.socketPath ? { socketPath: options.socketPath } : { host: String(options.host), port: Number(options.port) };
}

export async function startEngineProxy(socketPath: string): Promise<EngineProxy> {
  const target = upstream();
  const calls: EngineCall[] = [];
  const state = { readOnly: false };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v\d+(\.\d+)?/, '');
    const call: EngineCall = {
      method: req.method ?? 'GET',
      path,
      url: req.url ?? '/',
      start: performance.now(),
      end: Number.NaN,
      closed: Number.NaN,
    };
    calls.push(call);
    res.on('finish', () => (call.end = performance.now()));
    res.on('close', () => (call.closed = performance.now()));
    if (state.readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
      call.status = 403;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'refused by the test proxy: it lets only reads through now' }));
      return;
    }
    const forward = http.request({ ...target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (answer.statusCode !== undefined) call.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // As the Engine does: a stream's headers go out before its first chunk (an event feed may wait long for one).
      res.flushHeaders();
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
  await listenOn(server, socketPath);
  return {
    socketPath,
    calls,
    reset: () => {
      calls.length = 0;
    },
    get readOnly() {
      return state.readOnly;
    },
    set readOnly(on: boolean) {
      state.readOnly = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A unix socket that accepts connections and never answers: an Engine that hangs. */
export async function startSilentSocket(
  socketPath: string,
): Promise<{ socketPath: string; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume();
  });
  await listenOn(server, socketPath);
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

/** Listens on a unix socket, replacing the file a former run may have left. */
async function listenOn(server: http.Server | Server, socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
}
