// The Kubernetes runtime's stop and get against the API stand-in (issue 17): which API calls each
// makes (a constant few: get reads by name; stop deletes by uid, reading first unless this runtime
// has seen the process as its own, known-processes.ts), and that neither takes a same-named object
// of someone else's for the process, for every arrangement of ours, foreign and missing objects,
// also when what the runtime saw of the name is out of date.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { kubeConfigFor } from '../../../src/runtimes/kubernetes/cluster.ts';
import { KubernetesRuntime } from '../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import { deploymentManifest } from '../../../src/runtimes/kubernetes/manifests.ts';
import { PROCESS_LABEL } from '../../../src/labels.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';
import { startKubeStandin, type KubeStandin } from '../../support/kube-standin/index.ts';
import { rejectsWith } from '../../support/assertions.ts';
import { apiError, clientsFor, uniqueName, waitFor } from './helpers.ts';

const IMAGE = 'nginxdemos/hello:plain-text';

const spec = (input: Omit<ProcessSpecInput, 'container'> & { container?: Partial<ProcessSpecInput['container']> }) =>
  ProcessSpec.parse({ ...input, container: { image_uri: IMAGE, ...input.container } });

function runtimeOn(api: KubeStandin): KubernetesRuntime {
  return new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), { namespace: 'default', requestTimeoutMs: 5000 });
}

/** The requests since the last reset, as "verb resource", sorted. */
const calls = (api: KubeStandin) =>
  api.controls
    .requests()
    .map((r) => `${r.verb} ${r.resource}`)
    .sort();

/** A Service named `name` with these labels; NodePort when public. */
const service = (name: string, labels: Record<string, string>, pub = false): V1Service => ({
  metadata: { name, labels },
  spec: { type: pub ? 'NodePort' : 'ClusterIP', selector: { [PROCESS_LABEL]: name }, ports: [{ port: 80 }] },
});

/** A Deployment named `name` with these labels on it (its pods are selected by another). */
const deployment = (name: string, labels: Record<string, string>): V1Deployment => ({
  metadata: { name, labels },
  spec: {
    selector: { matchLabels: { run: name } },
    template: { metadata: { labels: { run: name } }, spec: { containers: [{ name: 'c', image: IMAGE }] } },
  },
});

describe('Kubernetes runtime: stop and get (issue 17)', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;
  let k8s: ReturnType<typeof clientsFor>;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 5 });
    runtime = runtimeOn(api);
    k8s = clientsFor(api);
  });
  after(async () => {
    await runtime.close();
    await api.close();
  });

  /** The calls that `op` makes, once the stand-in's controllers are idle. */
  const callsOf = async (op: () => Promise<unknown>) => {
    await api.controls.settle();
    api.controls.resetRequests();
    await op();
    return calls(api);
  };

  it('stops what it started, listed or looked up with one delete per object, at any number of processes', async () => {
    const group = uniqueName('many');
    const counted: string[][] = [];
    for (const total of [3, 20]) {
      await Promise.all(
        Array.from({ length: total - (total === 3 ? 0 : 3) }, () => runtime.start(spec({ process_name: uniqueName('bulk'), group }))),
      );
      const withPort = uniqueName('port');
      await runtime.start(spec({ process_name: withPort, container: { ports: [{ container_port: 80 }] } }));
      const without = uniqueName('noport');
      await runtime.start(spec({ process_name: without }));
      counted.push(await callsOf(() => runtime.stop(withPort)));
      counted.push(await callsOf(() => runtime.stop(without)));
      assert.equal((await apiError(k8s.apps.readNamespacedDeployment({ namespace: 'default', name: withPort }))).code, 404);
      assert.equal((await apiError(k8s.core.readNamespacedService({ namespace: 'default', name: withPort }))).code, 404);
    }
    const withService = ['delete deployments', 'delete services'];
    const withoutService = ['delete deployments'];
    assert.deepEqual(counted, [withService, withoutService, withService, withoutService]);
    // Started by another server (or before a restart): seen in a list or a get, it is known too.
    const other = runtimeOn(api);
    const listed = uniqueName('listed');
    const looked = uniqueName('looked');
    for (const name of [listed, looked])
      await other.start(spec({ process_name: name, group, container: { ports: [{ container_port: 80 }] } }));
    await runtime.list({ group });
    await runtime.get(looked);
    assert.deepEqual(await callsOf(() => runtime.stop(listed)), withService);
    assert.deepEqual(await callsOf(() => runtime.stop(looked)), withService);
    await other.close();
    await runtime.stopGroup(group);
  });

  it('stops a process it has not seen by reading the Deployment and the Service, then deleting what is ours', async () => {
    const other = runtimeOn(api);
    const withPort = uniqueName('port');
    const without = uniqueName('noport');
    await other.start(spec({ process_name: withPort, container: { ports: [{ container_port: 80 }] } }));
    await other.start(spec({ process_name: without }));
    assert.deepEqual(await callsOf(() => runtime.stop(withPort)), [
      'delete deployments',
      'delete services',
      'get deployments',
      'get services',
    ]);
    assert.deepEqual(await callsOf(() => runtime.stop(without)), ['delete deployments', 'get deployments', 'get services']);
    assert.equal((await apiError(k8s.core.readNamespacedService({ namespace: 'default', name: withPort }))).code, 404);
    await other.close();
  });

  it('stops the process that now has the name when the one it saw was replaced through another server', async () => {
    const other = runtimeOn(api);
    const name = uniqueName('replaced');
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } }));
    await other.stop(name);
    await other.start(spec({ process_name: name, container: { ports: [{ container_port: 81 }] } }));
    // The deletes by the old uids are refused (409); then it reads, and deletes the new objects.
    assert.deepEqual(await callsOf(() => runtime.stop(name)), [
      'delete deployments',
      'delete deployments',
      'delete services',
      'delete services',
      'get deployments',
      'get services',
    ]);
    assert.equal((await apiError(k8s.apps.readNamespacedDeployment({ namespace: 'default', name }))).code, 404);
    assert.equal((await apiError(k8s.core.readNamespacedService({ namespace: 'default', name }))).code, 404);
    // Stopped through another server: the delete finds nothing (404), and the stop says so.
    await runtime.start(spec({ process_name: name }));
    await other.stop(name);
    await rejectsWith(runtime.stop(name), 'process_not_found');
    await other.close();
  });

  it('deletes nothing when nothing of the process was found', async () => {
    const name = uniqueName('none');
    assert.deepEqual(await callsOf(() => rejectsWith(runtime.stop(name), 'process_not_found')), ['get deployments', 'get services']);
  });

  it('gets by reading the Deployment and Service by name and listing the pods of its label, at any number of processes', async () => {
    const group = uniqueName('getmany');
    const name = uniqueName('got');
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } }));
    const few = await callsOf(() => runtime.get(name));
    await Promise.all(Array.from({ length: 20 }, () => runtime.start(spec({ process_name: uniqueName('bulk'), group }))));
    const many = await callsOf(() => runtime.get(name));
    assert.deepEqual(few, ['get deployments', 'get services', 'list pods']);
    assert.deepEqual(many, few);
    // A public process with a pod on a node: the nodes too, for its external IP.
    const pub = uniqueName('pub');
    await runtime.start(spec({ process_name: pub, has_public_ip: true, container: { ports: [{ container_port: 80 }] } }));
    await waitFor(async () => (await runtime.get(pub))?.socket_addresses.length, 'an address');
    assert.deepEqual(await callsOf(() => runtime.get(pub)), ['get deployments', 'get services', 'list nodes', 'list pods']);
    await runtime.stopGroup(group);
  });

  it("stops our Deployment and leaves a same-named Service of someone else's", async () => {
    const name = uniqueName('svcforeign');
    await k8s.core.createNamespacedService({ namespace: 'default', body: service(name, { app: name }) });
    await runtime.start(spec({ process_name: name }));
    await runtime.stop(name);
    assert.equal((await apiError(k8s.apps.readNamespacedDeployment({ namespace: 'default', name }))).code, 404);
    const still = await k8s.core.readNamespacedService({ namespace: 'default', name });
    assert.deepEqual(still.metadata!.labels, { app: name });
    await k8s.core.deleteNamespacedService({ namespace: 'default', name });
  });

  it('deletes the pull Secret of a stopped process that logged in to its registry, once its Deployment was read', async () => {
    const options = { namespace: 'default', resolveSecret: async () => 'token' };
    const withSecret = new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), options);
    // Started by another server: this one learns from the Deployment that the process has a pull Secret.
    const starter = new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), options);
    const name = uniqueName('private');
    await starter.start(
      spec({
        process_name: name,
        container: { image_uri: 'ghcr.io/org/app:1', username: 'robot', password: { secret_name: 'registry', key: 'token' } },
      }),
    );
    assert.ok(await k8s.core.readNamespacedSecret({ namespace: 'default', name }));
    assert.deepEqual(await callsOf(() => withSecret.stop(name)), [
      'delete deployments',
      'delete secrets',
      'get deployments',
      'get secrets',
      'get services',
    ]);
    // It is the Deployment read that says whether the process pulled with a Secret of its own.
    const order = api.controls.requests().map((r) => `${r.verb} ${r.resource}`);
    assert.ok(order.indexOf('get secrets') > order.indexOf('get deployments'), order.join(', '));
    assert.equal((await apiError(k8s.core.readNamespacedSecret({ namespace: 'default', name }))).code, 404);
    // Started by this server: it knows, and reads only the Secret.
    const again = uniqueName('private');
    await withSecret.start(
      spec({
        process_name: again,
        container: { image_uri: 'ghcr.io/org/app:1', username: 'robot', password: { secret_name: 'registry', key: 'token' } },
      }),
    );
    assert.deepEqual(await callsOf(() => withSecret.stop(again)), ['delete deployments', 'delete secrets', 'get secrets']);
    assert.equal((await apiError(k8s.core.readNamespacedSecret({ namespace: 'default', name: again }))).code, 404);
    await starter.close();
    await withSecret.close();
  });
});

/** What stands under the process's name: nothing, ours, or someone else's (no label, or another process's label). */
type Kind = 'none' | 'ours' | 'unlabelled' | 'other';

describe('Kubernetes runtime: stop and get over every arrangement of objects (generated)', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;
  let k8s: ReturnType<typeof clientsFor>;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 0 });
    runtime = runtimeOn(api);
    k8s = clientsFor(api);
  });
  after(async () => {
    await runtime.close();
    await api.close();
  });

  const kind = fc.constantFrom<Kind>('none', 'ours', 'unlabelled', 'other');
  const labelsOf = (k: Kind, name: string): Record<string, string> =>
    k === 'ours' ? { [PROCESS_LABEL]: name } : k === 'other' ? { [PROCESS_LABEL]: `${name}-x` } : { app: name };

  it('get answers what the list says of the name; stop deletes only ours and says what it left', async () => {
    await fc.assert(
      fc.asyncProperty(kind, kind, fc.boolean(), fc.boolean(), fc.boolean(), async (dep, svc, pub, seenBefore, lookFirst) => {
        const name = uniqueName('arr');
        const ns = { namespace: 'default' };
        if (seenBefore) {
          // The runtime started a process of that name, which was then removed behind its back:
          // what it remembers of the name is out of date, and must change no outcome.
          await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 80 }] } }));
          await k8s.apps.deleteNamespacedDeployment({ ...ns, name });
          await k8s.core.deleteNamespacedService({ ...ns, name });
        }
        if (dep === 'ours')
          await k8s.apps.createNamespacedDeployment({ ...ns, body: deploymentManifest(spec({ process_name: name }), 'default') });
        else if (dep !== 'none') await k8s.apps.createNamespacedDeployment({ ...ns, body: deployment(name, labelsOf(dep, name)) });
        if (svc !== 'none') await k8s.core.createNamespacedService({ ...ns, body: service(name, labelsOf(svc, name), pub) });
        await api.controls.settle();

        // A get and a list first make the runtime see the objects as they are now; without them, the
        // stop acts on what it saw at the start, if anything.
        if (lookFirst) {
          const got = await runtime.get(name);
          const listed = (await runtime.list()).find((p) => p.process_name === name);
          assert.deepEqual(got, listed);
          assert.equal(got !== undefined, dep === 'ours');
        }

        const ours = dep === 'ours' || svc === 'ours';
        if (ours) {
          await runtime.stop(name);
        } else {
          const foreign = dep !== 'none' ? 'Deployment' : svc !== 'none' ? 'Service' : undefined;
          const err = await rejectsWith(runtime.stop(name), 'process_not_found');
          assert.equal(
            err.message,
            foreign === undefined
              ? `no process named '${name}'`
              : `no process named '${name}': a ${foreign} of that name exists in namespace 'default', but Hydroplane does not manage it, so it is left alone`,
          );
        }
        const exists = async (read: Promise<unknown>) =>
          read.then(
            () => true,
            () => false,
          );
        assert.equal(await exists(k8s.apps.readNamespacedDeployment({ ...ns, name })), dep !== 'none' && dep !== 'ours');
        assert.equal(await exists(k8s.core.readNamespacedService({ ...ns, name })), svc !== 'none' && svc !== 'ours');
        assert.equal(await runtime.get(name), undefined);
        if (dep !== 'none' && dep !== 'ours') await k8s.apps.deleteNamespacedDeployment({ ...ns, name });
        if (svc !== 'none' && svc !== 'ours') await k8s.core.deleteNamespacedService({ ...ns, name });
      }),
      { numRuns: 64 },
    );
  });
});
