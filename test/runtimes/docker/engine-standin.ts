// A stand-in Docker Engine: an HTTP server on a unix socket whose answers each test decides, and
// a loopback listener that records every connection made to it (where a redirect would lead).
// For what a real Engine cannot be made to do: redirect, drop a stream halfway, stall a body.
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type Server as NetServer, type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type EngineHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export class EngineStandin {
  /** "METHOD /path?query" of every request, in order. */
  readonly requests: string[] = [];
  handle: EngineHandler = (_req, res) => {
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end('{"message":"no handler"}');
  };
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #dir = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => this.handle(req, res, body));
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    this.#dir = await mkdtemp(join(tmpdir(), 'hp-engine-'));
    await new Promise<void>((resolve) => this.#server.listen(join(this.#dir, 'docker.sock'), resolve));
    return this;
  }

  get socketPath(): string {
    return join(this.#dir, 'docker.sock');
  }

  /** Connections to the stand-in that are still open. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** A loopback TCP listener that counts the connections made to it and answers nothing. */
export class ConnectionRecorder {
  connections = 0;
  readonly #server: NetServer;

  constructor() {
    this.#server = createNetServer((socket) => {
      this.connections += 1;
      socket.destroy();
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Answers JSON with a status. */
export function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
