// The Kubernetes runtime through @kubernetes/client-node against the API stand-in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { HydroplaneError } from '../../../src/errors.ts';
import { kubeConfigFor } from '../../../src/runtimes/kubernetes/cluster.ts';
import { KubernetesRuntime, secretResolver } from '../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import type { RuntimeLogger } from '../../../src/runtimes/logger.ts';
import type { ProcessInfo } from '../../../src/spec/process-info.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';
import { runtimeContract } from '../../support/runtime-contract.ts';
import { startKubeStandin, type KubeStandin } from '../../support/kube-standin/index.ts';
import { apiError, clientsFor, uniqueName, waitFor } from './helpers.ts';
import { rejectsWith } from '../../support/assertions.ts';
import { ExpirySweeper } from '../../../src/culler/expiry-sweeper.ts';
import { EXPIRES_AT_ANNOTATION, PROCESS_LABEL, SPEC_DIGEST_ANNOTATION } from '../../../src/labels.ts';
import { applyProcess } from '../../../src/runtimes/apply.ts';
import { deploymentManifest } from '../../../src/runtimes/kubernetes/manifests.ts';
import { SILENT_LOGGER } from '../../../src/runtimes/logger.ts';
import { specDigest } from '../../../src/spec/spec-digest.ts';

const IMAGE = 'nginxdemos/hello:plain-text';

/** Starts a public process with one port, waits until it has an address; its Service's node port too. */
async function startPublic(
  api: KubeStandin,
  rt: KubernetesRuntime,
  name: string,
): Promise<{ addresses: ProcessInfo['socket_addresses']; nodePort: number | undefined }> {
  await rt.start(spec({ process_name: name, has_public_ip: true, container: { ports: [{ container_port: 80 }] } }));
  const info = await waitFor(async () => {
    const i = await rt.get(name);
    return i?.socket_addresses.length ? i : undefined;
  }, 'an address');
  const service = await clientsFor(api).core.readNamespacedService({ namespace: 'default', name });
  return { addresses: info.socket_addresses, nodePort: service.spec!.ports![0]!.nodePort };
}

function runtimeOn(
  api: KubeStandin,
  options: { requestTimeoutMs?: number; secrets?: Record<string, string>; logger?: RuntimeLogger } = {},
): KubernetesRuntime {
  return new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
    namespace: 'default',
    resolveSecret: secretResolver(new MemorySecretStore(options.secrets ?? {})),
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    logger: options.logger,
  });
}

const spec = (input: Omit<ProcessSpecInput, 'container'> & { container?: Partial<ProcessSpecInput['container']> }) =>
  ProcessSpec.parse({ ...input, container: { image_uri: IMAGE, ...input.container } });

// The shared contract that the Docker runtime passes too.
{
  let api: KubeStandin;
  runtimeContract('kubernetes (stand-in)', async () => {
    api = await startKubeStandin({ podStartDelayMs: 10 });
    return { runtime: runtimeOn(api), cleanup: () => api.close(), imageUri: IMAGE };
  });
}

describe('Kubernetes runtime', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;
  let k8s: ReturnType<typeof clientsFor>;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 20 });
    runtime = runtimeOn(api, { secrets: { registry: JSON.stringify({ user: 'robot', token: 's3cret' }) } });
    k8s = clientsFor(api);
  });
  after(() => api.close());

  const waitStatus = (name: string, status: ProcessInfo['status']) =>
    waitFor(async () => {
      const info = await runtime.get(name);
      return info?.status === status ? info : undefined;
    }, `${name} to be ${status}`);

  it('starts a private process: a Deployment and a ClusterIP Service, STARTING then RUNNING', async () => {
    const name = uniqueName('web');
    api.controls.setPodStartDelay(300);
    const started = await runtime.start(
      spec({ process_name: name, group: 'g1', container: { ports: [{ container_port: 80, host_port: 8080 }] } }),
    );
    assert.equal(started.status, 'STARTING');
    assert.equal(started.group, 'g1');
    const service = await k8s.core.readNamespacedService({ namespace: 'default', name });
    assert.equal(service.spec!.type, 'ClusterIP');
    assert.deepEqual(started.socket_addresses, [{ host: service.spec!.clusterIP!, port: 8080, is_public: false }]);

    const deployment = await k8s.apps.readNamespacedDeployment({ namespace: 'default', name });
    assert.equal(started.created, deployment.metadata!.creationTimestamp!.toISOString());
    assert.equal((await runtime.get(name))!.status, 'STARTING');
    api.controls.setPodStartDelay(20);

    const running = await waitStatus(name, 'RUNNING');
    assert.deepEqual(running.socket_addresses, [{ host: service.spec!.clusterIP!, port: 8080, is_public: false }]);
    assert.equal(running.reason, undefined);
  });

  it('lists a public process at the external IP of the node running its pod, and the node port', async () => {
    const name = uniqueName('pub');
    await runtime.start(
      spec({
        process_name: name,
        has_public_ip: true,
        container: { ports: [{ container_port: 80 }, { container_port: 53, protocol: 'udp' }] },
      }),
    );
    const info = await waitStatus(name, 'RUNNING');
    const service = await k8s.core.readNamespacedService({ namespace: 'default', name });
    const [pod] = (await k8s.core.listNamespacedPod({ namespace: 'default', labelSelector: `hydroplane/process-id=${name}` })).items;
    const external = { 'node-1': '203.0.113.11', 'node-2': '203.0.113.12' }[pod!.spec!.nodeName!];
    assert.equal(service.spec!.type, 'NodePort');
    assert.deepEqual(
      info.socket_addresses,
      service.spec!.ports!.map((p) => ({ host: external, port: p.nodePort, is_public: true })),
    );
  });

  it("falls back to the node's internal IP when it has no external one", async () => {
    const solo = await startKubeStandin({ nodes: [{ name: 'private-node', internalIP: '10.1.2.3' }] });
    try {
      const { addresses, nodePort } = await startPublic(solo, runtimeOn(solo), uniqueName('inner'));
      assert.deepEqual(addresses, [{ host: '10.1.2.3', port: nodePort, is_public: true }]);
    } finally {
      await solo.close();
    }
  });

  it("lists public processes at their nodes' internal IPs when it may not list nodes, and warns once", async () => {
    const solo = await startKubeStandin({ nodes: [{ name: 'node-a', internalIP: '10.1.2.3', externalIP: '203.0.113.7' }] });
    const warnings: unknown[][] = [];
    const quiet = () => {};
    try {
      const rt = runtimeOn(solo, {
        logger: { info: quiet, warn: (...args: unknown[]) => warnings.push(args), error: quiet, debug: quiet },
      });
      solo.controls.injectFault({ verb: 'list', resource: 'nodes' }, { status: 403 });
      const { addresses, nodePort } = await startPublic(solo, rt, uniqueName('norbac'));
      assert.deepEqual(addresses, [{ host: '10.1.2.3', port: nodePort, is_public: true }]);
      assert.equal((await rt.list()).length, 1);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(String(warnings[0]![1]), /cannot list the cluster's nodes \(forbidden\)/);
      // Another refusal is still an error.
      solo.controls.injectFault({ verb: 'list', resource: 'pods' }, { status: 403 });
      await rejectsWith(rt.list(), 'runtime_forbidden');
    } finally {
      await solo.close();
    }
  });

  it('lists a process without ports, with no Service', async () => {
    const name = uniqueName('quiet');
    await runtime.start(spec({ process_name: name }));
    const info = await waitStatus(name, 'RUNNING');
    assert.deepEqual(info.socket_addresses, []);
    assert.equal(
      api.controls.objects('services', 'default').some((s) => s.metadata.name === name),
      false,
    );
    await runtime.stop(name);
    assert.equal(await runtime.get(name), undefined);
  });

  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'] as const) {
    it(`reports ${reason} as FAILED with the kubelet's reason`, async () => {
      const name = uniqueName('bad');
      api.controls.failPods({ deployment: name }, { reason, message: `the kubelet says ${reason}` });
      await runtime.start(spec({ process_name: name }));
      const info = await waitStatus(name, 'FAILED');
      assert.equal(info.reason, `${reason}: the kubelet says ${reason}`);
    });
  }

  it('reports a crash loop as FAILED with the exit code', async () => {
    const name = uniqueName('crash');
    api.controls.failPods({ deployment: name }, { reason: 'CrashLoopBackOff', exitCode: 137, restarts: 4 });
    await runtime.start(spec({ process_name: name }));
    const info = await waitStatus(name, 'FAILED');
    assert.equal(info.reason, 'CrashLoopBackOff: the container exited with code 137 (Error) and was restarted 4 times');
  });

  it('reports a missing Kubernetes Secret as CreateContainerConfigError, and runs once it exists', async () => {
    const name = uniqueName('needs');
    const secret = uniqueName('db');
    await runtime.start(
      spec({ process_name: name, container: { env: [{ name: 'PASSWORD', value: { secret_name: secret, key: 'password' } }] } }),
    );
    const deployment = await k8s.apps.readNamespacedDeployment({ namespace: 'default', name });
    assert.deepEqual(JSON.parse(JSON.stringify(deployment.spec!.template.spec!.containers[0]!.env)), [
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } },
    ]);
    const failed = await waitStatus(name, 'FAILED');
    assert.equal(failed.reason, `CreateContainerConfigError: secret "${secret}" not found`);
    await k8s.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: secret }, stringData: { password: 'pw' } } });
    await waitStatus(name, 'RUNNING');
  });

  it('says why a process cannot be scheduled while it is STARTING', async () => {
    const name = uniqueName('picky');
    await runtime.start(spec({ process_name: name, container: { node_selector: { 'hydroplane.test/zone': 'moon' } } }));
    const info = await waitFor(async () => {
      const i = await runtime.get(name);
      return i?.reason ? i : undefined;
    }, 'a reason');
    assert.equal(info.status, 'STARTING');
    assert.match(info.reason!, /^Unschedulable: 0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/);
  });

  it('answers process_exists for a name in use, and leaves the live process alone', async () => {
    const name = uniqueName('dup');
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } }));
    await rejectsWith(
      runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } })),
      'process_exists',
      new RegExp(`'${name}' already exists`),
    );
    assert.ok(await runtime.get(name));
    await k8s.core.readNamespacedService({ namespace: 'default', name });
  });

  it('undoes the Deployment when the Service cannot be created', async () => {
    const name = uniqueName('atomic');
    const fault = api.controls.injectFault(
      { verb: 'create', resource: 'services' },
      { status: 500, message: 'etcdserver: request timed out' },
    );
    try {
      await rejectsWith(
        runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } })),
        'runtime_error',
        /etcdserver: request timed out/,
      );
    } finally {
      fault.remove();
    }
    assert.equal(
      api.controls.objects('deployments', 'default').some((d) => d.metadata.name === name),
      false,
    );
    await api.controls.settle();
    assert.equal(
      api.controls.objects('pods', 'default').some((p) => p.metadata.labels?.['hydroplane/process-id'] === name),
      false,
    );
    assert.equal(await runtime.get(name), undefined);
    // The name is free again.
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } }));
  });

  it('undoes the pull Secret too when the Deployment is refused', async () => {
    const name = uniqueName('atomic-secret');
    const fault = api.controls.injectFault({ verb: 'create', resource: 'deployments' }, { status: 403 });
    try {
      await rejectsWith(
        runtime.start(spec({ process_name: name, container: { username: 'robot', password: { secret_name: 'registry', key: 'token' } } })),
        'runtime_forbidden',
      );
    } finally {
      fault.remove();
    }
    assert.equal(
      api.controls.objects('secrets', 'default').some((s) => s.metadata.name === name),
      false,
    );
  });

  it('logs in to a private registry with a pull Secret that goes with the process', async () => {
    const name = uniqueName('private');
    await runtime.start(
      spec({
        process_name: name,
        group: 'pulls',
        container: { image_uri: 'ghcr.io/org/app:1', username: 'robot', password: { secret_name: 'registry', key: 'token' } },
      }),
    );
    const secret = await k8s.core.readNamespacedSecret({ namespace: 'default', name });
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(secret.metadata!.labels, { 'hydroplane/process-id': name, 'hydroplane/group-id': 'pulls' });
    const config = JSON.parse(Buffer.from(secret.data!['.dockerconfigjson']!, 'base64').toString());
    assert.deepEqual(config.auths['ghcr.io'], {
      username: 'robot',
      password: 's3cret',
      auth: Buffer.from('robot:s3cret').toString('base64'),
    });
    const deployment = await k8s.apps.readNamespacedDeployment({ namespace: 'default', name });
    assert.deepEqual(
      deployment.spec!.template.spec!.imagePullSecrets!.map((s) => s.name),
      [name],
    );

    assert.deepEqual(await runtime.stopGroup('pulls'), [name]);
    assert.equal(
      api.controls.objects('secrets', 'default').some((s) => s.metadata.name === name),
      false,
    );
  });

  it('refuses a process secret without a key before creating anything', async () => {
    const name = uniqueName('nokey');
    api.controls.resetRequests();
    const err = await rejectsWith(
      runtime.start(spec({ process_name: name, container: { env: [{ name: 'T', value: { secret_name: 'tok' } }] } })),
      'unsupported',
    );
    assert.equal(err.status, 422);
    assert.equal(api.controls.count(), 0);
  });

  it('translates a 422 from the API into invalid_spec with the spec fields', async () => {
    const name = uniqueName('badkey');
    const err = await rejectsWith(
      runtime.start(spec({ process_name: name, container: { env: [{ name: 'T', value: { secret_name: 'tok', key: 'not a key!' } }] } })),
      'invalid_spec',
      /the Kubernetes API refused process '.*': Deployment\.apps ".*" is invalid: spec\.template\.spec\.containers\[0\]\.env\[0\]\.valueFrom\.secretKeyRef\.key: Invalid value: "not a key!"/,
    );
    assert.equal(err.status, 422);
    assert.deepEqual(
      err.fields?.map((f) => f.path),
      ['container.env[0].value'],
    );
  });

  it('makes a constant number of API calls per list, whatever the number of processes', async () => {
    const solo = await startKubeStandin({ podStartDelayMs: 5 });
    try {
      const rt = runtimeOn(solo);
      const startMany = (from: number, to: number) =>
        Promise.all(
          Array.from({ length: to - from }, (_, i) =>
            rt.start(
              spec({
                process_name: `many-${from + i}`,
                has_public_ip: (from + i) % 2 === 0,
                container: { ports: [{ container_port: 80 }] },
              }),
            ),
          ),
        );
      const callsPerList = async () => {
        await waitFor(async () => (await rt.list()).every((p) => p.status === 'RUNNING'), 'all running', 10_000);
        solo.controls.resetRequests();
        const listed = await rt.list();
        return {
          processes: listed.length,
          calls: solo.controls
            .requests()
            .map((r) => `${r.verb} ${r.resource}`)
            .sort(),
        };
      };
      await startMany(0, 10);
      const ten = await callsPerList();
      await startMany(10, 50);
      const fifty = await callsPerList();
      assert.equal(ten.processes, 10);
      assert.equal(fifty.processes, 50);
      assert.deepEqual(ten.calls, ['list deployments', 'list nodes', 'list pods', 'list services']);
      assert.deepEqual(fifty.calls, ten.calls);
    } finally {
      await solo.close();
    }
  });

  it('names the verb and resource that RBAC refused', async () => {
    const fault = api.controls.injectFault({ verb: 'list', resource: 'pods' }, { status: 403 });
    try {
      const err = await rejectsWith(runtime.list(), 'runtime_forbidden');
      assert.equal(err.status, 502);
      assert.match(
        err.message,
        /^the kubernetes runtime may not list pods in namespace 'default': RBAC refused it while listing processes/,
      );
      assert.match(err.message, /the 'list' verb on 'pods'/);
      assert.match(
        err.message,
        /User "system:serviceaccount:hydroplane:hydroplane" cannot list resource "pods" in API group "" in the namespace "default"/,
      );
    } finally {
      fault.remove();
    }
  });

  it('does not touch a same-named Deployment without our labels', async () => {
    const name = uniqueName('foreign');
    await k8s.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
    });
    await rejectsWith(
      runtime.stop(name),
      'process_not_found',
      /a Deployment of that name exists in namespace 'default', but Hydroplane does not manage it, so it is left alone/,
    );
    await rejectsWith(runtime.start(spec({ process_name: name })), 'name_taken', /Hydroplane does not manage/);
    assert.equal(await runtime.get(name), undefined);
    assert.ok(!(await runtime.list()).some((p) => p.process_name === name));
    const still = await k8s.apps.readNamespacedDeployment({ namespace: 'default', name });
    assert.deepEqual(still.metadata!.labels, { app: name });
  });

  it('gives a Deployment whose process label is not its own name no identity: not listed, read, stopped or stopped with its group', async () => {
    // Made by hand (or by another tool): labelled as process 'shown', named otherwise. Listing it
    // under 'shown' while get and stop act on the object named 'shown' would act on another thing.
    const shown = uniqueName('shown');
    const actual = uniqueName('actual');
    const group = uniqueName('grp');
    const labels = { 'hydroplane/process-id': shown, 'hydroplane/group-id': group };
    await k8s.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: actual, labels },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
    });
    await waitFor(
      () => api.controls.objects('pods', 'default').some((p) => p.metadata.labels?.['hydroplane/process-id'] === shown),
      'its pod',
    );
    assert.ok(!(await runtime.list()).some((p) => p.process_name === shown || p.process_name === actual));
    assert.deepEqual(await runtime.list({ group }), []);
    assert.equal(await runtime.get(shown), undefined);
    await rejectsWith(runtime.stop(shown), 'process_not_found', /no process named/);
    await rejectsWith(runtime.logs(shown), 'process_not_found', /no process named/);
    assert.deepEqual(await runtime.stopGroup(group), []);
    const still = await k8s.apps.readNamespacedDeployment({ namespace: 'default', name: actual });
    assert.deepEqual(still.metadata!.labels, labels);
    await k8s.apps.deleteNamespacedDeployment({ namespace: 'default', name: actual });
  });

  it('answers a name or group that cannot be a label value (too long, or ending in -, . or _) as nothing, without a selector the API refuses', async () => {
    for (const name of ['abc-', 'abc.', 'abc_', 'a'.repeat(64), `${'a'.repeat(62)}.b`]) {
      assert.equal(await runtime.get(name), undefined, name);
      await rejectsWith(runtime.stop(name), 'process_not_found', /no process named/);
      await rejectsWith(runtime.logs(name), 'process_not_found', /no process named/);
      assert.deepEqual(await runtime.list({ group: name }), [], name);
      assert.deepEqual(await runtime.stopGroup(name), [], name);
    }
  });

  it("stops a group: its Deployments and Services, not the other group's", async () => {
    const a = uniqueName('ga');
    const b = uniqueName('gb');
    const group = uniqueName('grp');
    await runtime.start(spec({ process_name: a, group, container: { ports: [{ container_port: 80 }] } }));
    await runtime.start(spec({ process_name: b, group: `${group}-other`, container: { ports: [{ container_port: 80 }] } }));
    assert.deepEqual(await runtime.stopGroup(group), [a]);
    const services = api.controls.objects('services', 'default').map((s) => s.metadata.name);
    assert.ok(!services.includes(a));
    assert.ok(services.includes(b));
    assert.deepEqual(
      (await runtime.list({ group: `${group}-other` })).map((p) => p.process_name),
      [b],
    );
  });

  it('cleans up a leftover Service of ours: start replaces it, stop removes it', async () => {
    const name = uniqueName('leftover');
    const leftover = { metadata: { name, labels: { 'hydroplane/process-id': name } }, spec: { ports: [{ port: 80 }] } };
    await k8s.core.createNamespacedService({ namespace: 'default', body: leftover });
    await runtime.stop(name);
    assert.equal(
      api.controls.objects('services', 'default').some((s) => s.metadata.name === name),
      false,
    );

    await k8s.core.createNamespacedService({ namespace: 'default', body: leftover });
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 8080, host_port: 81 }] } }));
    const service = await k8s.core.readNamespacedService({ namespace: 'default', name });
    assert.equal(service.spec!.ports![0]!.port, 81);
  });

  it("reuses a leftover pull Secret of ours, and refuses to take over someone else's", async () => {
    const private_ = (name: string) =>
      spec({
        process_name: name,
        container: { image_uri: 'ghcr.io/org/app:1', username: 'robot', password: { secret_name: 'registry', key: 'token' } },
      });
    const stale = uniqueName('stale');
    await k8s.core.createNamespacedSecret({
      namespace: 'default',
      body: {
        metadata: { name: stale, labels: { 'hydroplane/process-id': stale } },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': '{"auths":{}}' },
      },
    });
    await runtime.start(private_(stale));
    const secret = await k8s.core.readNamespacedSecret({ namespace: 'default', name: stale });
    assert.ok(
      JSON.parse(Buffer.from(secret.data!['.dockerconfigjson']!, 'base64').toString()).auths['ghcr.io'],
      'the credentials were written',
    );

    const taken = uniqueName('taken');
    await k8s.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: taken }, stringData: { a: 'b' } } });
    await rejectsWith(runtime.start(private_(taken)), 'name_taken', /a Secret of that name that Hydroplane does not manage exists/);
    assert.equal(
      api.controls.objects('deployments', 'default').some((d) => d.metadata.name === taken),
      false,
    );
    assert.deepEqual((await k8s.core.readNamespacedSecret({ namespace: 'default', name: taken })).data, {
      a: Buffer.from('b').toString('base64'),
    });
  });

  it('says when the namespace does not exist', async () => {
    const elsewhere = new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), { namespace: 'nowhere' });
    assert.deepEqual(await elsewhere.list(), []);
    await rejectsWith(
      elsewhere.start(spec({ process_name: uniqueName('lost') })),
      'runtime_error',
      /namespace 'nowhere' does not exist in the cluster at http:\/\/127\.0\.0\.1:\d+: create it, or set namespace in the runtime config/,
    );
  });

  it('does not take a terminating pod of a stopped process for its restarted namesake', async () => {
    const slow = await startKubeStandin({ podStartDelayMs: 20, podTerminationMs: 2000 });
    try {
      const rt = runtimeOn(slow);
      const name = uniqueName('phoenix');
      await rt.start(spec({ process_name: name }));
      await waitFor(async () => (await rt.get(name))?.status === 'RUNNING', 'RUNNING');
      await rt.stop(name);
      slow.controls.setPodStartDelay(1000);
      await rt.start(spec({ process_name: name }));
      await slow.controls.settle();
      const pods = slow.controls.objects('pods', 'default').filter((p) => p.metadata.labels?.['hydroplane/process-id'] === name);
      assert.equal(pods.length, 2, 'the old pod is still terminating beside the new one');
      assert.equal((await rt.get(name))?.status, 'STARTING');
    } finally {
      await slow.close();
    }
  });

  it('times out on an API server that does not answer', async () => {
    const slow = runtimeOn(api, { requestTimeoutMs: 150 });
    const fault = api.controls.injectFault({ verb: 'list', resource: 'deployments', times: 1 }, { hang: true });
    try {
      await rejectsWith(slow.list(), 'runtime_timeout', /did not answer within 0\.15 s while listing processes/);
    } finally {
      fault.remove();
    }
  });

  it('says when the credentials are refused', async () => {
    const kc = kubeConfigFor({ kubeconfig: api.kubeconfigPath });
    kc.users[0] = { ...kc.users[0]!, token: 'expired' };
    const rt = new KubernetesRuntime(kc, { namespace: 'default' });
    await rejectsWith(rt.list(), 'runtime_forbidden', /did not accept the kubernetes runtime's credentials/);
  });
});

describe('Kubernetes runtime without a cluster', () => {
  it('says which runtime cannot reach which API server', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const api = await startKubeStandin();
    const kc = kubeConfigFor({ kubeconfig: api.kubeconfigPath });
    await api.close();
    kc.clusters[0] = { ...kc.clusters[0]!, server: `http://127.0.0.1:${port}` };
    const rt = new KubernetesRuntime(kc, { namespace: 'default', type: 'eks' });
    const err = await rejectsWith(rt.list(), 'runtime_unavailable');
    assert.equal(err.status, 503);
    assert.match(
      err.message,
      new RegExp(
        `^the eks runtime cannot reach the Kubernetes API server at http://127\\.0\\.0\\.1:${port} while listing processes \\(ECONNREFUSED`,
      ),
    );
  });

  it('reads a kubeconfig context, and names the known ones when asked for another', async () => {
    await using api = await startKubeStandin();
    assert.equal(kubeConfigFor({ kubeconfig: api.kubeconfigPath, context: 'standin' }).getCurrentContext(), 'standin');
    assert.throws(
      () => kubeConfigFor({ kubeconfig: api.kubeconfigPath, context: 'prod' }),
      (err: unknown) =>
        err instanceof HydroplaneError &&
        err.code === 'invalid_config' &&
        /context 'prod' is not in the kubeconfig; it has 'standin'/.test(err.message),
    );
    assert.throws(
      () => kubeConfigFor({ kubeconfig: '/nonexistent/kubeconfig' }),
      (err: unknown) =>
        err instanceof HydroplaneError &&
        err.code === 'invalid_config' &&
        /cannot read the kubeconfig \/nonexistent\/kubeconfig/.test(err.message),
    );
  });
});

describe('Kubernetes runtime: apply and lifetimes (issue 16)', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;
  let k8s: ReturnType<typeof clientsFor>;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 10 });
    runtime = runtimeOn(api);
    k8s = clientsFor(api);
  });
  after(() => api.close());

  const readDeployment = (name: string) => k8s.apps.readNamespacedDeployment({ namespace: 'default', name });

  it('keeps the digest and the expiry as annotations of the Deployment, not as labels, nor on the pod template', async () => {
    const name = uniqueName('rec');
    const s = spec({ process_name: name, group: 'g1', max_age_minutes: 5, container: { ports: [{ container_port: 80 }] } });
    const before = Date.now();
    const started = await runtime.start(s);
    const deployment = await readDeployment(name);
    const annotations = deployment.metadata!.annotations!;
    assert.equal(annotations[SPEC_DIGEST_ANNOTATION], specDigest(s));
    const expires = Date.parse(annotations[EXPIRES_AT_ANNOTATION]!);
    assert.ok(expires >= before + 5 * 60_000 && expires <= Date.now() + 5 * 60_000);
    assert.deepEqual(deployment.metadata!.labels, { [PROCESS_LABEL]: name, 'hydroplane/group-id': 'g1' });
    assert.equal(deployment.spec!.template.metadata!.annotations, undefined);
    const service = await k8s.core.readNamespacedService({ namespace: 'default', name });
    assert.equal(service.metadata!.annotations?.[SPEC_DIGEST_ANNOTATION], undefined, 'the Deployment is what is read back');
    assert.equal(started.spec_digest, specDigest(s));
    assert.equal(started.expires, new Date(expires).toISOString());
    assert.equal((await runtime.get(name))?.expires, started.expires);
  });

  it('replaces a Deployment that an older server made (no annotations), and never sweeps it', async () => {
    const name = uniqueName('old');
    const s = spec({ process_name: name });
    await k8s.apps.createNamespacedDeployment({ namespace: 'default', body: deploymentManifest(s, 'default') });
    const old = await runtime.get(name);
    assert.ok(old);
    assert.equal(old.spec_digest, undefined);
    assert.equal(old.expires, undefined);
    const swept = await new ExpirySweeper({ runtime, logger: SILENT_LOGGER, now: () => Date.now() + 10 * 365 * 86_400_000 }).sweepOnce();
    assert.ok(!swept.includes(name), 'no expiry: never swept');

    const applied = await applyProcess(runtime, s);
    assert.equal(applied.outcome, 'replaced');
    assert.equal((await readDeployment(name)).metadata!.annotations?.[SPEC_DIGEST_ANNOTATION], specDigest(s));
    assert.equal((await applyProcess(runtime, s)).outcome, 'unchanged');
  });

  it('replaces a FAILED process even from the same spec', async () => {
    const name = uniqueName('crash');
    const s = spec({ process_name: name });
    await runtime.start(s);
    const uid = (await readDeployment(name)).metadata!.uid;
    api.controls.failPods({ deployment: name }, { reason: 'CrashLoopBackOff', exitCode: 1, restarts: 3 });
    await waitFor(async () => ((await runtime.get(name))?.status === 'FAILED' ? true : undefined), 'FAILED');
    try {
      assert.equal((await applyProcess(runtime, s)).outcome, 'replaced');
      assert.notEqual((await readDeployment(name)).metadata!.uid, uid, 'a new Deployment');
    } finally {
      api.controls.clearPodFailures();
    }
  });

  it("does not take the Service of a process that replaced this start's Deployment while it was starting", async () => {
    const name = uniqueName('lost');
    // The other request's process: its Service exists, and this start's Deployment is gone by the time it looks.
    const theirs = { metadata: { name, labels: { [PROCESS_LABEL]: name } }, spec: { ports: [{ port: 81 }] } };
    const { uid } = (await k8s.core.createNamespacedService({ namespace: 'default', body: theirs })).metadata!;
    const fault = api.controls.injectFault({ verb: 'get', resource: 'deployments', name, times: 1 }, { status: 404 });
    await rejectsWith(
      runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } })),
      'process_exists',
      /stopped or replaced by another request while it was starting/,
    );
    assert.equal(fault.hits, 1);
    assert.equal((await k8s.core.readNamespacedService({ namespace: 'default', name })).metadata!.uid, uid, 'their Service is untouched');
    assert.equal((await apiError(readDeployment(name))).code, 404, "this start's Deployment is undone");
  });

  it('sweeps away a process past its expiry: its Deployment and Service are deleted', async () => {
    const name = uniqueName('brief');
    await runtime.start(spec({ process_name: name, max_age_minutes: 0.002, container: { ports: [{ container_port: 80 }] } }));
    const expires = Date.parse((await runtime.get(name))!.expires!);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 20));
    const stopped = await new ExpirySweeper({ runtime, logger: SILENT_LOGGER }).sweepOnce();
    assert.deepEqual(stopped, [name]);
    assert.equal((await apiError(readDeployment(name))).code, 404);
    assert.equal((await apiError(k8s.core.readNamespacedService({ namespace: 'default', name }))).code, 404);
  });
});
