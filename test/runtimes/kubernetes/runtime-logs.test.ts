// KubernetesRuntime.logs against the API stand-in: the current pod's log with tail, since and
// timestamps, follow until the pod goes, a follow cut short that the API server sees closed,
// a process that has not started, and errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HydroplaneError } from '../../../src/errors.ts';
import { kubeConfigFor } from '../../../src/runtimes/kubernetes/cluster.ts';
import { KubernetesRuntime } from '../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { startKubeStandin, type KubeStandin } from '../../support/kube-standin/index.ts';
import { clientsFor, uniqueName, waitFor } from './helpers.ts';

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

describe('Kubernetes runtime: logs', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 20 });
    runtime = new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), { namespace: 'default', requestTimeoutMs: 2000 });
  });
  after(() => api.close());

  /** Starts a process and waits for its pod to run; returns the pod's name. */
  async function running(name: string): Promise<string> {
    await runtime.start(ProcessSpec.parse({ process_name: name, container: { image_uri: 'nginxdemos/hello:plain-text' } }));
    await waitFor(async () => (await runtime.get(name))?.status === 'RUNNING', `${name} to run`);
    const pod = api.controls.objects('pods').find((p) => p.metadata.labels?.['hydroplane/process-id'] === name);
    assert.ok(pod);
    return pod.metadata.name;
  }

  it("reads the pod's log, with tail, since and timestamps", async () => {
    const name = uniqueName('read');
    const pod = await running(name);
    api.controls.setPodLog(pod, 'old\n', { at: new Date(Date.now() - 3_600_000) });
    api.controls.appendPodLog(pod, 'new 1\nnew 2\n');

    assert.equal(await text(await runtime.logs(name)), 'old\nnew 1\nnew 2\n');
    assert.equal(await text(await runtime.logs(name, { tail: 1 })), 'new 2\n');
    assert.equal(await text(await runtime.logs(name, { since: new Date(Date.now() - 60_000) })), 'new 1\nnew 2\n');
    assert.match(await text(await runtime.logs(name, { tail: 1, timestamps: true })), /^\d{4}-\d\d-\d\dT[\d:.]+Z new 2\n$/);

    const [last] = api.controls.requests({ resource: 'pods/log' }).slice(-1);
    assert.equal(last?.name, pod);
    assert.equal(last?.status, 200);
  });

  it('follows until the pod goes', async () => {
    const name = uniqueName('follow');
    const pod = await running(name);
    api.controls.setPodLog(pod, 'first\n');
    const chunks = (await runtime.logs(name, { follow: true }))[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).value, 'first\n');
    api.controls.appendPodLog(pod, 'second\n');
    assert.equal((await chunks.next()).value, 'second\n');
    await runtime.stop(name);
    assert.equal((await chunks.next()).done, true);
  });

  it('closes the follow on the API server when aborted', async () => {
    const name = uniqueName('cut');
    const pod = await running(name);
    api.controls.setPodLog(pod, 'ready\n');
    const controller = new AbortController();
    let got = '';
    for await (const chunk of await runtime.logs(name, { follow: true, signal: controller.signal })) {
      got += chunk;
      assert.equal(api.controls.logFollowers(pod), 1);
      controller.abort();
    }
    assert.equal(got, 'ready\n');
    await waitFor(() => api.controls.logFollowers(pod) === 0, 'the API server to see the follow closed');
  });

  it('has an empty log while the container has not started', async () => {
    api.controls.setPodStartDelay(60_000);
    try {
      const name = uniqueName('slow');
      await runtime.start(ProcessSpec.parse({ process_name: name, container: { image_uri: 'nginxdemos/hello:plain-text' } }));
      await waitFor(() => api.controls.objects('pods').some((p) => p.metadata.labels?.['hydroplane/process-id'] === name), 'a pod');
      assert.equal(await text(await runtime.logs(name, { follow: true })), '');
    } finally {
      api.controls.setPodStartDelay(20);
    }
  });

  it('answers process_not_found for a Deployment that is not ours', async () => {
    const { apps } = clientsFor(api);
    const labels = { app: 'foreign' };
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'foreign', labels },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      },
    });
    await assert.rejects(runtime.logs('foreign'), (err: unknown) => err instanceof HydroplaneError && err.code === 'process_not_found');
  });

  it('names the verb and resource when RBAC refuses the log', async () => {
    const name = uniqueName('rbac');
    await running(name);
    const fault = api.controls.injectFault({ resource: 'pods/log' }, { status: 403 });
    try {
      await assert.rejects(runtime.logs(name), (err: unknown) => {
        assert.ok(err instanceof HydroplaneError);
        assert.equal(err.code, 'runtime_forbidden');
        assert.match(err.message, /'get' verb on 'pods\/log'/);
        return true;
      });
    } finally {
      fault.remove();
    }
  });

  it('answers runtime_timeout when the API server does not answer the log request', async () => {
    const name = uniqueName('hang');
    await running(name);
    const fault = api.controls.injectFault({ resource: 'pods/log' }, { hang: true });
    try {
      await assert.rejects(runtime.logs(name), (err: unknown) => err instanceof HydroplaneError && err.code === 'runtime_timeout');
    } finally {
      fault.remove();
    }
  });
});
