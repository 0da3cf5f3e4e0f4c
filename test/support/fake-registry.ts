// A registry that has no images, on 127.0.0.1 (which the Engine treats as an insecure registry,
// so plain HTTP works): the pull paths of the docker runtime can be tested without a network.
// Beyond the usual answers it can stall every manifest request (a registry that hangs) or answer
// them with any status and body (a hostile one), and it records when the Engine's connections close.
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeRegistryOptions {
  /** Every request needs them (HTTP Basic); without, none does. */
  credentials?: { username: string; password: string };
  /**
   * What a manifest request gets instead of 404 manifest unknown: 'stall' never answers;
   * 'stall-layer' serves an image of one large layer that comes at a trickle and never ends.
   */
  manifest?: 'stall' | 'stall-layer' | { status: number; body: Buffer | string; headers?: Record<string, string> };
}

export class FakeRegistry {
  /** "METHOD /path auth=<Authorization header>" for every request. */
  readonly requests: string[] = [];
  /** Manifest requests that are stalled and whose connection is still open. */
  stalledOpen = 0;
  /** Stalled manifest requests whose connection the client closed. */
  stalledClosed = 0;
  readonly #server: Server;
  readonly #options: FakeRegistryOptions;
  readonly #stalled = new Set<ServerResponse>();
  #port = 0;

  /** With `credentials` (or options.credentials), every request needs them (HTTP Basic); without, none does. */
  constructor(credentialsOrOptions?: { username: string; password: string } | FakeRegistryOptions) {
    this.#options =
      credentialsOrOptions && 'username' in credentialsOrOptions ? { credentials: credentialsOrOptions } : (credentialsOrOptions ?? {});
    this.#server = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      this.requests.push(`${req.method} ${req.url} auth=${auth}`);
      const headers = { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' };
      const credentials = this.#options.credentials;
      if (credentials) {
        const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
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
      const manifest = this.#options.manifest;
      if (manifest === 'stall-layer') {
        const image = oneLayerImage();
        const url = req.url ?? '';
        const send = (type: string, body: string) => {
          const digest = sha256(body);
          res.writeHead(200, {
            ...headers,
            'Content-Type': type,
            'Content-Length': Buffer.byteLength(body),
            'Docker-Content-Digest': digest,
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        };
        if (/\/manifests\//.test(url)) return send('application/vnd.docker.distribution.manifest.v2+json', image.manifest);
        if (url.endsWith(`/blobs/${image.configDigest}`)) return send('application/octet-stream', image.config);
        if (url.endsWith(`/blobs/${image.layerDigest}`)) {
          res.writeHead(200, {
            'Content-Type': 'application/octet-stream',
            'Content-Length': image.layerSize,
            'Docker-Content-Digest': image.layerDigest,
          });
          // A trickle, never the whole layer: the pull goes on, slowly, until someone stops it.
          res.write(Buffer.alloc(4096));
          const trickle = setInterval(() => res.write(Buffer.alloc(2048)), 100);
          req.socket.once('close', () => clearInterval(trickle));
          this.#stall(res, req.socket);
          return;
        }
      }
      if (manifest !== undefined && manifest !== 'stall-layer' && /\/manifests\//.test(req.url ?? '')) {
        if (manifest === 'stall') {
          this.#stall(res, req.socket);
          return;
        }
        res.writeHead(manifest.status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...manifest.headers });
        res.end(manifest.body);
        return;
      }
      res.writeHead(404, headers);
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
  }

  #stall(res: ServerResponse, socket: Socket): void {
    this.#stalled.add(res);
    this.stalledOpen += 1;
    socket.once('close', () => {
      this.#stalled.delete(res);
      this.stalledOpen -= 1;
      this.stalledClosed += 1;
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

function sha256(body: string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** A schema 2 image of one 64 MiB layer (never fully sent). */
function oneLayerImage(): { manifest: string; config: string; configDigest: string; layerDigest: string; layerSize: number } {
  const layerSize = 64 << 20;
  const layerDigest = `sha256:${'ab'.repeat(32)}`;
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [`sha256:${'cd'.repeat(32)}`] },
  });
  const configDigest = sha256(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: Buffer.byteLength(config), digest: configDigest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layerSize, digest: layerDigest }],
  });
  return { manifest, config, configDigest, layerDigest, layerSize };
}
