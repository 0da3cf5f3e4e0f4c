// A Kubernetes API server stand-in on loopback, for tests that go through the real client library.
// It serves what Hydroplane uses (namespaces, nodes, pods, services, secrets, deployments,
// replicasets, pod logs, watches with resourceVersion, bookmarks and 410 Expired), with the API's validation, defaults, allocations, Status bodies and owner
// propagation, and it runs Deployments: pods are scheduled on fake nodes and go Running.
//
//   const api = await startKubeStandin();
//   const kc = new KubeConfig(); kc.loadFromFile(api.kubeconfigPath);
//   ...
//   await api.close();
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controllers, type NodeSpec, type PodFailure, type PodMatch } from './controller.ts';
import { PodLogs } from './logs.ts';
import { Registry } from './registry.ts';
import { RESOURCES, resourceOfKind, type KubeObject } from './resources.ts';
import { makeHandler, type Fault, type FaultEffect, type FaultMatch, type RequestRecord, type Verb } from './server.ts';
import { Scheduler, Store } from './store.ts';
import { WatchHub } from './watch.ts';

export type { KubeObject } from './resources.ts';
export type { NodeSpec, PodFailure, PodMatch } from './controller.ts';
export type { FaultEffect, FaultMatch, RequestRecord, Verb } from './server.ts';

export interface KubeStandinOptions {
  /** Bearer token that requests must carry; random by default. */
  token?: string;
  /**
   * Decides which bearer tokens are accepted instead of `token`, for tokens that a cloud provider
   * makes and renews (EKS, GKE); the kubeconfig still carries `token`.
   */
  authenticate?: (token: string) => boolean;
  /** Serve https with a fresh self-signed certificate (needs the openssl CLI); default plain http. */
  https?: boolean;
  /** The user named in Forbidden messages. */
  user?: string;
  /** Time from a pod's scheduling to its container running and ready. Default 30 ms. */
  podStartDelayMs?: number;
  /** How long a deleted pod stays Terminating. Default 0 (gone at once). */
  podTerminationMs?: number;
  /** Delay of the garbage collector deleting dependents in the background. Default 0. */
  gcDelayMs?: number;
  /** Default: node-1 and node-2, Ready, each with an InternalIP and an ExternalIP. */
  nodes?: NodeSpec[];
  /** Namespaces besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** Default 10.96.0.0/12. */
  serviceCidr?: string;
  /** Changes kept for watches that resume at a version; an older version is 410 Expired. Default 1000. */
  watchHistory?: number;
  /** Time between BOOKMARK events of watches that allow them. Default 60 s, as an API server's. */
  watchBookmarkIntervalMs?: number;
  /**
   * How a watch from a version older than the history is refused: 'event' (default), a 200 stream
   * with one ERROR event carrying the 410 Expired Status, as the API server does; or 'response', a
   * plain 410 answer.
   */
  watchExpiredAs?: 'event' | 'response';
}

export interface RequestFilter {
  verb?: Verb;
  resource?: string;
  namespace?: string;
}

export interface KubeStandinControls {
  /** Replaces the cluster's nodes; pods already bound stay where they are. */
  setNodes(nodes: NodeSpec[]): void;
  /** Makes the matching pods (now and later) fail as a kubelet reports it. Latest rule wins. */
  failPods(match: PodMatch, failure: PodFailure): void;
  /** Forgets the failures; failed pods are restarted and run. */
  clearPodFailures(): void;
  setPodStartDelay(ms: number): void;
  /** Makes matching requests fail (403 with RBAC's message, any other status, a hang, or a reset connection). */
  injectFault(match: FaultMatch, effect: FaultEffect): { remove(): void; readonly hits: number };
  clearFaults(): void;
  /** Every request so far (after resetRequests), optionally filtered. */
  requests(filter?: RequestFilter): RequestRecord[];
  count(filter?: RequestFilter): number;
  resetRequests(): void;
  /** TCP connections accepted so far, and how many are open now: whether clients reuse them. */
  connections(): { accepted: number; open: number };
  /** The stored objects of a resource ("deployments", "pods", ...), as the API would answer them. */
  objects(resource: string, namespace?: string): KubeObject[];
  /** Resolves once the controllers have no queued work (timed work such as pod start may remain). */
  settle(): Promise<void>;
  /** Replaces a pod's log (what GET .../pods/{name}/log answers); its lines are stamped `at` (default now). */
  setPodLog(pod: string, text: string, options?: { namespace?: string; at?: Date }): void;
  /** Adds lines to a pod's log, stamped now, and sends them to every open follow. */
  appendPodLog(pod: string, text: string, options?: { namespace?: string }): void;
  /** Open follow requests on pod logs: of one pod, or in all. */
  logFollowers(pod?: string, namespace?: string): number;
  /** Open watch connections: on one resource ("pods", "deployments"), or on all. */
  watchers(resource?: string): number;
  /** Forgets the watch history, as etcd's compaction does: a watch from any earlier version is Expired. */
  compactWatchHistory(): void;
  /** Ends every open watch, as an API server does when a watch's time is up or it restarts. */
  closeWatches(): void;
  setWatchBookmarkInterval(ms: number): void;
}

export interface KubeStandin {
  url: string;
  kubeconfigPath: string;
  token: string;
  /** The self-signed certificate (PEM), with https. */
  ca: string | undefined;
  controls: KubeStandinControls;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const DEFAULT_NODES: readonly NodeSpec[] = [
  { name: 'node-1', internalIP: '10.0.0.11', externalIP: '203.0.113.11' },
  { name: 'node-2', internalIP: '10.0.0.12', externalIP: '203.0.113.12' },
];

async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=kube-standin',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}

export async function startKubeStandin(options: KubeStandinOptions = {}): Promise<KubeStandin> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'kube-standin-'));
  const store = new Store();
  // Before any write, so that its history starts with the store.
  const watches = new WatchHub(store, {
    historySize: options.watchHistory ?? 1000,
    bookmarkIntervalMs: options.watchBookmarkIntervalMs ?? 60_000,
    expiredAs: options.watchExpiredAs ?? 'event',
  });
  const scheduler = new Scheduler();
  const registry = new Registry(store, scheduler, {
    serviceCidr: options.serviceCidr ?? '10.96.0.0/12',
    podTerminationMs: options.podTerminationMs ?? 0,
    gcDelayMs: options.gcDelayMs ?? 0,
  });
  const controllers = new Controllers(store, registry, scheduler, options.podStartDelayMs ?? 30);

  const namespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', ...(options.namespaces ?? [])];
  for (const name of namespaces) registry.create(resourceOfKind('Namespace'), undefined, { metadata: { name } });
  const [ip] = (options.serviceCidr ?? '10.96.0.0/12').split('/');
  const first = ip!.replace(/\d+$/, (n) => String(Number(n) + 1));
  registry.create(resourceOfKind('Service'), 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: first, ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
  });
  controllers.setNodes([...(options.nodes ?? DEFAULT_NODES)]);

  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  const hanging = new Set<ServerResponse>();
  const logs = new PodLogs(store);
  const handler = makeHandler({
    token,
    authenticate: options.authenticate,
    user: options.user ?? 'system:serviceaccount:hydroplane:hydroplane',
    registry,
    faults,
    requests,
    hanging,
    logs,
    watches,
  });
  const listener = (req: http.IncomingMessage, res: ServerResponse) => void handler(req, res);

  let ca: string | undefined;
  let server: http.Server | https.Server;
  if (options.https) {
    const { key, cert } = await selfSignedCertificate(dir);
    ca = cert;
    server = https.createServer({ key, cert }, listener);
  } else {
    server = http.createServer(listener);
  }
  const connections = { accepted: 0, open: 0 };
  server.on('connection', (socket) => {
    connections.accepted++;
    connections.open++;
    socket.once('close', () => connections.open--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;

  // client-node only talks plain http to a cluster marked insecure-skip-tls-verify.
  const cluster: Record<string, unknown> = { server: url };
  if (ca) cluster['certificate-authority-data'] = Buffer.from(ca).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'standin', cluster }],
    users: [{ name: 'standin-user', user: { token } }],
    contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'standin-user', namespace: 'default' } }],
    'current-context': 'standin',
  };
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });

  const filtered = (f: RequestFilter = {}) =>
    requests.filter(
      (r) =>
        (f.verb === undefined || r.verb === f.verb) &&
        (f.resource === undefined || r.resource === f.resource) &&
        (f.namespace === undefined || r.namespace === f.namespace),
    );

  const controls: KubeStandinControls = {
    setNodes: (nodes) => controllers.setNodes(nodes),
    failPods: (match, failure) => controllers.failPods(match, failure),
    clearPodFailures: () => controllers.clearPodFailures(),
    setPodStartDelay: (ms) => {
      controllers.podStartDelayMs = ms;
    },
    injectFault(match, effect) {
      const fault: Fault = { match, effect, hits: 0 };
      faults.push(fault);
      return {
        remove: () => {
          const i = faults.indexOf(fault);
          if (i >= 0) faults.splice(i, 1);
        },
        get hits() {
          return fault.hits;
        },
      };
    },
    clearFaults: () => {
      faults.length = 0;
    },
    requests: filtered,
    count: (f) => filtered(f).length,
    resetRequests: () => {
      requests.length = 0;
    },
    connections: () => ({ ...connections }),
    objects(resource, namespace) {
      const res = RESOURCES.find((r) => r.plural === resource);
      if (!res) throw new Error(`the stand-in does not serve ${resource}`);
      return store.list(res, namespace);
    },
    settle: () => scheduler.settle(),
    setPodLog: (pod, text, o = {}) => logs.set(o.namespace ?? 'default', pod, text, o.at),
    appendPodLog: (pod, text, o = {}) => logs.append(o.namespace ?? 'default', pod, text),
    logFollowers: (pod, namespace) => (pod === undefined ? logs.followers() : logs.followers(namespace ?? 'default', pod)),
    watchers: (resource) => watches.count(resource),
    compactWatchHistory: () => watches.compact(),
    closeWatches: () => watches.closeAll(),
    setWatchBookmarkInterval: (ms) => {
      watches.options.bookmarkIntervalMs = ms;
    },
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    scheduler.close();
    watches.closeAll();
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  return { url, kubeconfigPath, token, ca, controls, close, [Symbol.asyncDispose]: close };
}
