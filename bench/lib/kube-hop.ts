// The floor of any server between a client and the Kubernetes API that calls it with the official
// client, as Hydroplane's runtime does: a bare Node HTTP server that takes a Deployment and creates
// it, deletes one by name and uid, or reads one process (its Deployment, pods and Service), each
// one client-node call (or three at once) and its answer back, nothing else checked or logged. The
// scale scenario times start, stop and get through it beside Hydroplane's and the raw calls, so
// that a reader sees what is the hop and what is Hydroplane's.
//   node bench/lib/kube-hop.ts KUBECONFIG NAMESPACE   (prints "listening PORT" once it listens)
//   POST /deployments (a Deployment) → the created Deployment
//   DELETE /deployments/NAME?uid=UID → 204
//   GET /processes/NAME → [Deployment, pod list, Service or null]
import http from 'node:http';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { PROCESS_LABEL } from '../../src/labels.ts';

const [kubeconfig, namespace] = process.argv.slice(2);
if (!kubeconfig || !namespace) throw new Error('usage: kube-hop.ts KUBECONFIG NAMESPACE');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function answer(req: http.IncomingMessage): Promise<{ status: number; json?: unknown }> {
  const url = new URL(req.url ?? '/', 'http://hop');
  const [, kind, name] = url.pathname.split('/');
  if (req.method === 'POST' && kind === 'deployments' && name === undefined) {
    return { status: 201, json: await apps.createNamespacedDeployment({ namespace: namespace!, body: (await body(req)) as never }) };
  }
  if (req.method === 'DELETE' && kind === 'deployments' && name) {
    const uid = url.searchParams.get('uid') ?? undefined;
    await apps.deleteNamespacedDeployment({
      namespace: namespace!,
      name,
      propagationPolicy: 'Background',
      body: { preconditions: { uid } },
    });
    return { status: 204 };
  }
  if (req.method === 'GET' && kind === 'processes' && name) {
    const json = await Promise.all([
      apps.readNamespacedDeployment({ namespace: namespace!, name }),
      core.listNamespacedPod({ namespace: namespace!, labelSelector: `${PROCESS_LABEL}=${name}` }),
      core.readNamespacedService({ namespace: namespace!, name }).catch(() => null),
    ]);
    return { status: 200, json };
  }
  return { status: 404 };
}

const server = http.createServer((req, res) => {
  answer(req).then(
    ({ status, json }) => {
      if (json === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    },
    (err: unknown) => res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err)),
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
