// A registry that has no images, on 127.0.0.1 (which the Engine treats as an insecure registry,
// so plain HTTP works): the pull paths of the docker runtime can be tested without a network.
import { createServer, type Server } from 'node:http';

export class FakeRegistry {
  /** "METHOD /path auth=<Authorization header>" for every request. */
  readonly requests: string[] = [];
  readonly #server: Server;
  readonly #credentials: { username: string; password: string } | undefined;
  #port = 0;

  /** With `credentials`, every request needs them (HTTP Basic); without, none does. */
  constructor(credentials?: { username: string; password: string }) {
    this.#credentials = credentials;
    this.#server = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      this.requests.push(`${req.method} ${req.url} auth=${auth}`);
      const headers = { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' };
      if (this.#credentials) {
        const expected = `Basic ${Buffer.from(`${this.#credentials.username}:${this.#credentials.password}`).toString('base64')}`;
        if (auth !== expected) {
          res.writeHead(401, { ...headers, 'WWW-Authenticate': 'Basic realm="fake"' });
          res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
          return;
        }
      }
      if (req.url === '/v2/') {
        res.writeHead(200, headers);
        res.end('{}');
        return;
      }
      res.writeHead(404, headers);
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** host:port, the domain part of an image reference. */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
