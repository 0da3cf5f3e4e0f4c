// Google Cloud stand-ins on loopback: the metadata server of a VM with a service account (where
// Application Default Credentials find their project and OAuth2 access tokens when
// GCE_METADATA_HOST points here) and the GKE API's clusters.get over REST, which checks the bearer
// token against the tokens it issued. Errors are Google's JSON shape.
//
//   const gcp = await startGcpStandin({ project: 'demo', clusters: { 'projects/demo/locations/r/clusters/c': {...} } });
//   process.env.GCE_METADATA_HOST = gcp.metadataHost;  ... gke_endpoint: gcp.url ...
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GcpStandinCluster {
  /** What the GKE API calls the endpoint: an address without a scheme, e.g. 127.0.0.1:6443. */
  endpoint: string;
  /** base64 of the CA certificate (PEM). */
  caData: string;
}

export interface GcpStandinOptions {
  project: string;
  /** Full resource name (projects/P/locations/L/clusters/C) -> cluster. */
  clusters?: Record<string, GcpStandinCluster>;
  /** Lifetime of issued access tokens; default 3600 s. */
  tokenLifetimeSeconds?: number;
  serviceAccount?: string;
}

export interface GcpRequestRecord {
  kind: 'metadata' | 'token' | 'getCluster' | 'other';
  path: string;
  /** The bearer token sent, if any. */
  bearer: string | undefined;
  status: number;
}

/** Google's error body: HTTP status, message, and the gRPC status name. */
export type GcpFault = { status: number; message: string; grpcStatus: string };

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

export interface GcpStandin {
  /** Base URL of the GKE API (gke_endpoint). */
  url: string;
  /** For GCE_METADATA_HOST. */
  metadataHost: string;
  issued: IssuedToken[];
  isValidToken(token: string): boolean;
  setTokenLifetime(seconds: number): void;
  /** Adds or replaces a cluster (full resource name). */
  setCluster(name: string, cluster: GcpStandinCluster): void;
  /** Makes 'token' or 'getCluster' fail with a Google error, until cleared. */
  fail(action: 'token' | 'getCluster', fault: GcpFault | undefined): void;
  requests(filter?: { kind?: GcpRequestRecord['kind'] }): GcpRequestRecord[];
  close(): Promise<void>;
}

export async function startGcpStandin(options: GcpStandinOptions): Promise<GcpStandin> {
  let lifetime = options.tokenLifetimeSeconds ?? 3600;
  const clusters = new Map(Object.entries(options.clusters ?? {}));
  const issued: IssuedToken[] = [];
  const records: GcpRequestRecord[] = [];
  const faults = new Map<string, GcpFault>();
  const isValidToken = (t: string) => issued.some((i) => i.token === t && i.expiresAt > Date.now());

  const send = (res: ServerResponse, record: GcpRequestRecord, status: number, body: unknown, headers: Record<string, string> = {}) => {
    record.status = status;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'application/text' : 'application/json; charset=UTF-8',
      ...headers,
    });
    res.end(text);
  };
  const googleError = (res: ServerResponse, record: GcpRequestRecord, f: GcpFault) =>
    send(res, record, f.status, { error: { code: f.status, message: f.message, status: f.grpcStatus } });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const record: GcpRequestRecord = { kind: 'other', path: url.pathname, bearer, status: 0 };
    records.push(record);

    if (url.pathname.startsWith('/computeMetadata/v1/')) {
      record.kind = url.pathname.endsWith('/token') ? 'token' : 'metadata';
      const flavor = { 'metadata-flavor': 'Google' };
      if (req.headers['metadata-flavor'] !== 'Google') return send(res, record, 403, 'Missing Metadata-Flavor:Google header.', flavor);
      const path = url.pathname.slice('/computeMetadata/v1/'.length);
      if (path === 'instance' || path === 'instance/')
        return send(res, record, 200, 'attributes/\nhostname\nid\nservice-accounts/\nzone\n', flavor);
      if (path === 'project/project-id') return send(res, record, 200, options.project, flavor);
      if (path === 'instance/service-accounts/default/email') {
        return send(res, record, 200, options.serviceAccount ?? `hydroplane@${options.project}.iam.gserviceaccount.com`, flavor);
      }
      if (path === 'instance/service-accounts/default/token') {
        const fault = faults.get('token');
        if (fault) return googleError(res, record, fault);
        const token = `ya29.${randomBytes(24).toString('base64url')}`;
        issued.push({ token, expiresAt: Date.now() + lifetime * 1000 });
        return send(res, record, 200, { access_token: token, expires_in: lifetime, token_type: 'Bearer' }, flavor);
      }
      return send(res, record, 404, 'Not Found', flavor);
    }

    const m = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/clusters\/[^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      record.kind = 'getCluster';
      const name = decodeURIComponent(m[1]!);
      if (bearer === undefined || !isValidToken(bearer)) {
        return googleError(res, record, {
          status: 401,
          message:
            'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          grpcStatus: 'UNAUTHENTICATED',
        });
      }
      const fault = faults.get('getCluster');
      if (fault) return googleError(res, record, fault);
      const cluster = clusters.get(name);
      if (!cluster) return googleError(res, record, { status: 404, message: `Not found: ${name}.`, grpcStatus: 'NOT_FOUND' });
      const [, , , location, , id] = name.split('/');
      return send(res, record, 200, {
        name: id,
        location,
        endpoint: cluster.endpoint,
        masterAuth: { clusterCaCertificate: cluster.caData },
        currentMasterVersion: '1.31.1-gke.1000',
        status: 2, // RUNNING, as numeric enums are asked for
        selfLink: `https://container.googleapis.com/v1/${name}`,
      });
    }
    return googleError(res, record, { status: 404, message: `no route for ${req.method} ${url.pathname}`, grpcStatus: 'NOT_FOUND' });
  };

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    metadataHost: `127.0.0.1:${port}`,
    issued,
    isValidToken,
    setTokenLifetime(seconds) {
      lifetime = seconds;
    },
    setCluster(name, cluster) {
      clusters.set(name, cluster);
    },
    fail(action, fault) {
      if (fault) faults.set(action, fault);
      else faults.delete(action);
    },
    requests: (filter = {}) => records.filter((r) => filter.kind === undefined || r.kind === filter.kind),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
