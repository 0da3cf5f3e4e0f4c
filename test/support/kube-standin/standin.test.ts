// The Kubernetes stand-in, exercised through @kubernetes/client-node: it must answer as the real
// API does for what Hydroplane uses, or the runtime tests prove nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { startKubeStandin, type KubeStandin } from './index.ts';
import { apiError, clientsFor, plain, waitFor } from '../../runtimes/kubernetes/helpers.ts';

function deployment(
  name: string,
  labels: Record<string, string>,
  extra: { image?: string; env?: any[]; nodeSelector?: Record<string, string> } = {},
): V1Deployment {
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'main', image: extra.image ?? 'nginx:1.27', env: extra.env }], nodeSelector: extra.nodeSelector },
      },
    },
  };
}

describe('kube stand-in', () => {
  let api: KubeStandin;
  let apps: ReturnType<typeof clientsFor>['apps'];
  let core: ReturnType<typeof clientsFor>['core'];

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 20 });
    ({ apps, core } = clientsFor(api));
  });
  after(() => api.close());

  it('creates, gets and deletes a Deployment, filling what the API server fills', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('basic', { app: 'basic' }) });
    assert.match(created.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.match(created.metadata!.resourceVersion!, /^\d+$/);
    assert.equal(created.metadata!.generation, 1);
    assert.ok(created.metadata!.creationTimestamp instanceof Date);
    assert.equal(created.spec!.strategy!.type, 'RollingUpdate');
    assert.equal(created.spec!.template.spec!.restartPolicy, 'Always');
    assert.equal(created.spec!.template.spec!.containers[0]!.imagePullPolicy, 'IfNotPresent');

    const got = await apps.readNamespacedDeployment({ namespace: 'default', name: 'basic' });
    assert.equal(got.metadata!.uid, created.metadata!.uid);

    const deleted = await apps.deleteNamespacedDeployment({ namespace: 'default', name: 'basic' });
    assert.equal(deleted.status, 'Success');
    assert.deepEqual(plain(deleted.details), { name: 'basic', group: 'apps', kind: 'deployments', uid: created.metadata!.uid });
  });

  it("answers 409 AlreadyExists and 404 NotFound with the API's Status bodies", async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('twice', { app: 'twice' }) });
    const again = await apiError(apps.createNamespacedDeployment({ namespace: 'default', body: deployment('twice', { app: 'twice' }) }));
    assert.equal(again.code, 409);
    assert.deepEqual(again.status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "twice" already exists',
      reason: 'AlreadyExists',
      details: { name: 'twice', group: 'apps', kind: 'deployments' },
      code: 409,
    });
    const missing = await apiError(core.readNamespacedService({ namespace: 'default', name: 'web' }));
    assert.equal(missing.code, 404);
    assert.deepEqual(missing.status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'services "web" not found',
      reason: 'NotFound',
      details: { name: 'web', kind: 'services' },
      code: 404,
    });
    const noNamespace = await apiError(apps.createNamespacedDeployment({ namespace: 'nowhere', body: deployment('x', { app: 'x' }) }));
    assert.equal(noNamespace.code, 404);
    assert.equal(noNamespace.status.message, 'namespaces "nowhere" not found');
  });

  it('lists by every kind of label selector', async () => {
    const make = (name: string, labels: Record<string, string>) =>
      core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name, labels }, stringData: { k: 'v' } } });
    await make('sel-a', { tier: 'web', env: 'prod' });
    await make('sel-b', { tier: 'web', env: 'dev' });
    await make('sel-c', { tier: 'db' });
    await make('sel-d', { other: 'x' });
    const names = async (labelSelector: string) =>
      (await core.listNamespacedSecret({ namespace: 'default', labelSelector })).items
        .map((s) => s.metadata!.name)
        .filter((n) => n!.startsWith('sel-'));
    assert.deepEqual(await names('tier=web'), ['sel-a', 'sel-b']);
    assert.deepEqual(await names('tier==web,env=dev'), ['sel-b']);
    assert.deepEqual(await names('tier!=web'), ['sel-c', 'sel-d']);
    assert.deepEqual(await names('tier'), ['sel-a', 'sel-b', 'sel-c']);
    assert.deepEqual(await names('!tier'), ['sel-d']);
    assert.deepEqual(await names('env in (prod, dev)'), ['sel-a', 'sel-b']);
    assert.deepEqual(await names('tier notin (web)'), ['sel-c', 'sel-d']);
    assert.deepEqual(await names('tier,env notin (prod)'), ['sel-b', 'sel-c']);
    const bad = await apiError(core.listNamespacedSecret({ namespace: 'default', labelSelector: 'tier in web' }));
    assert.equal(bad.code, 400);
    assert.equal(bad.status.reason, 'BadRequest');
    assert.match(bad.status.message, /^unable to parse requirement/);
  });

  it('answers 422 Invalid with the causes and field paths of the API', async () => {
    const body = deployment('mismatch', { app: 'a' });
    body.spec!.template.metadata!.labels = { app: 'b' };
    body.spec!.template.spec!.containers[0]!.ports = [
      { containerPort: 70000, name: 'http' },
      { containerPort: 81, name: 'http' },
    ];
    const { code, status } = await apiError(apps.createNamespacedDeployment({ namespace: 'default', body }));
    assert.equal(code, 422);
    assert.equal(status.reason, 'Invalid');
    assert.equal(status.details.kind, 'Deployment');
    assert.equal(status.details.group, 'apps');
    assert.deepEqual(
      status.details.causes.map((c: any) => [c.reason, c.field]),
      [
        ['FieldValueInvalid', 'spec.template.metadata.labels'],
        ['FieldValueInvalid', 'spec.template.spec.containers[0].ports[0].containerPort'],
        ['FieldValueDuplicate', 'spec.template.spec.containers[0].ports[1].name'],
      ],
    );
    assert.match(
      status.message,
      /^Deployment\.apps "mismatch" is invalid: \[spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/,
    );
  });

  it('checks objects against the official schema', async () => {
    const noName = deployment('schema', { app: 's' });
    delete (noName.spec!.template.spec!.containers[0] as any).name;
    const missing = await apiError(apps.createNamespacedDeployment({ namespace: 'default', body: noName }));
    assert.equal(missing.code, 422);
    assert.deepEqual(missing.status.details.causes, [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].name' },
    ]);

    const badQuantity = deployment('quantity', { app: 'q' });
    badQuantity.spec!.template.spec!.containers[0]!.resources = { limits: { cpu: 'lots' } };
    const decode = await apiError(apps.createNamespacedDeployment({ namespace: 'default', body: badQuantity }));
    assert.equal(decode.code, 400);
    assert.match(decode.status.message, /cannot be handled as a Deployment: quantities must match/);
  });

  it("rejects an env var whose valueFrom names no source (the original's secretRef bug)", async () => {
    // client-node drops the unknown `secretRef`, as the API server would, leaving valueFrom empty.
    const body = deployment('secretref', { app: 'r' }, { env: [{ name: 'TOKEN', valueFrom: { secretRef: { name: 'tok' } } }] });
    const { code, status } = await apiError(apps.createNamespacedDeployment({ namespace: 'default', body }));
    assert.equal(code, 422);
    assert.equal(status.details.causes[0].field, 'spec.template.spec.containers[0].env[0].valueFrom');
    assert.match(
      status.details.causes[0].message,
      /must specify one of: `configMapKeyRef`, `fieldRef`, `resourceFieldRef` or `secretKeyRef`/,
    );
  });

  it('defaults Services and allocates cluster IPs and node ports', async () => {
    const clusterIp = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'svc-private' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } },
    });
    assert.equal(clusterIp.spec!.type, 'ClusterIP');
    assert.match(clusterIp.spec!.clusterIP!, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
    assert.deepEqual(plain(clusterIp.spec!.ports), [{ port: 80, protocol: 'TCP', targetPort: 80 }]);

    const nodePort = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'svc-public' },
        spec: {
          type: 'NodePort',
          selector: { app: 'x' },
          ports: [
            { name: 'a', port: 80 },
            { name: 'b', port: 81, nodePort: 31081 },
          ],
        },
      },
    });
    const [a, b] = nodePort.spec!.ports!;
    assert.ok(a!.nodePort! >= 30000 && a!.nodePort! <= 32767, `node port ${a!.nodePort} in range`);
    assert.equal(b!.nodePort, 31081);

    const taken = await apiError(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'svc-clash' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 31081 }] } },
      }),
    );
    assert.equal(taken.code, 422);
    assert.deepEqual(taken.status.details.causes, [
      { reason: 'FieldValueInvalid', message: 'Invalid value: 31081: provided port is already allocated', field: 'spec.ports[0].nodePort' },
    ]);

    const outside = await apiError(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'svc-out' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] } },
      }),
    );
    assert.equal(
      outside.status.details.causes[0].message,
      'Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );

    const unnamed = await apiError(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: '9lives' }, spec: { ports: [{ port: 80 }, { port: 80 }] } },
      }),
    );
    assert.deepEqual(
      unnamed.status.details.causes.map((c: any) => [c.reason, c.field]),
      [
        ['FieldValueInvalid', 'metadata.name'],
        ['FieldValueRequired', 'spec.ports[0].name'],
        ['FieldValueRequired', 'spec.ports[1].name'],
        ['FieldValueDuplicate', 'spec.ports[1]'],
      ],
    );

    // Deleting the Service frees its node port.
    await core.deleteNamespacedService({ namespace: 'default', name: 'svc-public' });
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'svc-reuse' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 31081 }] } },
    });
  });

  it('runs a Deployment: its pod is scheduled on a node and goes Running, then goes with it', async () => {
    const d = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('runner', { app: 'runner' }) });
    const pod = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=runner' })).items;
      return p?.status?.phase === 'Running' ? p : undefined;
    }, 'the pod to run');
    assert.match(pod.metadata!.name!, /^runner-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.ok(['node-1', 'node-2'].includes(pod.spec!.nodeName!));
    assert.equal(pod.metadata!.ownerReferences![0]!.kind, 'ReplicaSet');
    const status = pod.status!.containerStatuses![0]!;
    assert.equal(status.ready, true);
    assert.equal(status.started, true);
    assert.ok(status.state!.running);
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ namespace: 'default', name: 'runner' })).status?.readyReplicas === 1,
      'readyReplicas',
    );

    await apps.deleteNamespacedDeployment({ namespace: 'default', name: 'runner' });
    await api.controls.settle();
    assert.deepEqual((await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=runner' })).items, []);
    assert.equal(api.controls.objects('replicasets').filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata!.uid).length, 0);
  });

  it('fails pods as a kubelet reports it', async () => {
    api.controls.failPods({ deployment: 'pull' }, { reason: 'ErrImagePull' });
    api.controls.failPods({ image: 'crashy:1' }, { reason: 'CrashLoopBackOff', exitCode: 3 });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('pull', { app: 'pull' }) });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('crash', { app: 'crash' }, { image: 'crashy:1' }) });
    const pulled = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=pull' })).items;
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
    }, 'ErrImagePull');
    assert.equal(pulled.status!.phase, 'Pending');
    const crashed = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=crash' })).items;
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    }, 'CrashLoopBackOff');
    assert.equal(crashed.status!.phase, 'Running');
    assert.equal(crashed.status!.containerStatuses![0]!.lastState!.terminated!.exitCode, 3);
    assert.equal(crashed.status!.containerStatuses![0]!.ready, false);

    api.controls.clearPodFailures();
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=pull' })).items[0]?.status?.phase === 'Running',
      'recovery',
    );
  });

  it('reports a missing Secret the way the kubelet does, and starts once it exists', async () => {
    const env = [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }];
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('needs-secret', { app: 'needs-secret' }, { env }) });
    const waiting = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=needs-secret' })).items;
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? p : undefined;
    }, 'CreateContainerConfigError');
    assert.equal(waiting.status!.containerStatuses![0]!.state!.waiting!.message, 'secret "db-creds" not found');
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'db-creds' }, stringData: { password: 'x' } } });
    await waitFor(
      async () =>
        (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=needs-secret' })).items[0]?.status?.phase === 'Running',
      'Running',
    );
  });

  it('leaves a pod Pending and Unschedulable when no node matches its selector', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('picky', { app: 'picky' }, { nodeSelector: { gpu: 'yes' } }),
    });
    const pending = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=picky' })).items;
      return p?.status?.conditions?.[0]?.reason === 'Unschedulable' ? p : undefined;
    }, 'Unschedulable');
    assert.equal(pending.status!.phase, 'Pending');
    assert.match(
      pending.status!.conditions![0]!.message!,
      /^0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/,
    );
    api.controls.setNodes([
      { name: 'node-1', internalIP: '10.0.0.11', externalIP: '203.0.113.11' },
      { name: 'node-2', internalIP: '10.0.0.12', externalIP: '203.0.113.12' },
      { name: 'gpu-1', internalIP: '10.0.0.21', labels: { gpu: 'yes' } },
    ]);
    const placed = await waitFor(async () => {
      const [p] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=picky' })).items;
      return p?.status?.phase === 'Running' ? p : undefined;
    }, 'scheduling on the new node');
    assert.equal(placed.spec!.nodeName, 'gpu-1');
    const gpu = await core.readNode({ name: 'gpu-1' });
    assert.deepEqual(plain(gpu.status!.addresses), [
      { type: 'InternalIP', address: '10.0.0.21' },
      { type: 'Hostname', address: 'gpu-1' },
    ]);
  });

  it("updates and patches with the API's conflict rule", async () => {
    const d = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('patched', { app: 'patched' }) });
    const patched = await apps.patchNamespacedDeployment({
      namespace: 'default',
      name: 'patched',
      body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
    });
    assert.equal(patched.spec!.replicas, 2);
    assert.equal(patched.metadata!.generation, 2);
    const stale = await apiError(apps.replaceNamespacedDeployment({ namespace: 'default', name: 'patched', body: d }));
    assert.equal(stale.code, 409);
    assert.equal(stale.status.reason, 'Conflict');
    assert.match(stale.status.message, /^Operation cannot be fulfilled on deployments\.apps "patched": the object has been modified/);
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=patched' })).items.length === 2,
      'two pods',
    );
  });

  it('counts requests and injects faults', async () => {
    api.controls.resetRequests();
    await core.listNode();
    await core.listNode();
    await apps.listNamespacedDeployment({ namespace: 'default' });
    assert.equal(api.controls.count({ verb: 'list', resource: 'nodes' }), 2);
    assert.equal(api.controls.count({ resource: 'deployments' }), 1);

    const fault = api.controls.injectFault({ verb: 'create', resource: 'services' }, { status: 403 });
    const refused = await apiError(
      core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'nope' }, spec: { ports: [{ port: 1 }] } } }),
    );
    assert.deepEqual(refused.status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'services is forbidden: User "system:serviceaccount:hydroplane:hydroplane" cannot create resource "services" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'services' },
      code: 403,
    });
    assert.equal(fault.hits, 1);
    fault.remove();

    api.controls.injectFault({ verb: 'list', resource: 'pods', times: 1 }, { status: 500 });
    assert.equal((await apiError(core.listNamespacedPod({ namespace: 'default' }))).status.reason, 'InternalError');
    await core.listNamespacedPod({ namespace: 'default' });

    api.controls.injectFault({ verb: 'get', resource: 'secrets', times: 1 }, { hang: true });
    const { core: slow } = clientsFor(api);
    const hung = await Promise.race([
      slow.readNamespacedSecret({ namespace: 'default', name: 'x' }).then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((r) => setTimeout(() => r('hung'), 100)),
    ]);
    assert.equal(hung, 'hung');
  });

  it('refuses requests without the bearer token', async () => {
    const raw = await fetch(`${api.url}/api/v1/namespaces/default/pods`);
    assert.equal(raw.status, 401);
    assert.deepEqual(await raw.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });

    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    kc.users[0] = { ...kc.users[0]!, token: 'wrong' };
    const err = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: 'default' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof ApiException);
    assert.equal((err as ApiException<unknown>).code, 401);
  });
});

describe('kube stand-in over https', () => {
  it('serves with a self-signed certificate that the kubeconfig trusts', async () => {
    await using api = await startKubeStandin({ https: true });
    const { core } = clientsFor(api);
    assert.ok(api.url.startsWith('https://127.0.0.1:'));
    const nodes = await core.listNode();
    assert.deepEqual(
      nodes.items.map((n) => n.metadata!.name),
      ['node-1', 'node-2'],
    );
  });
});
