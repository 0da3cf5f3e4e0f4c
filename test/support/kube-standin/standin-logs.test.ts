// The stand-in's pod logs, through @kubernetes/client-node as the runtime uses them:
// readNamespacedPodLog for a read, the streaming Log class for a follow.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Log, type V1Deployment } from '@kubernetes/client-node';
import { startKubeStandin, type KubeStandin } from './index.ts';
import { apiError, clientsFor, waitFor } from '../../runtimes/kubernetes/helpers.ts';

function deployment(name: string): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } },
    },
  };
}

describe('kube stand-in: pod logs', () => {
  let api: KubeStandin;
  let clients: ReturnType<typeof clientsFor>;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 20 });
    clients = clientsFor(api);
  });
  after(() => api.close());

  async function runningPod(name: string): Promise<string> {
    await clients.apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name) });
    return waitFor(async () => {
      const [p] = (await clients.core.listNamespacedPod({ namespace: 'default', labelSelector: `app=${name}` })).items;
      return p?.status?.phase === 'Running' ? p.metadata!.name! : undefined;
    }, 'a running pod');
  }

  it('answers the log text, with tailLines, sinceSeconds and timestamps', async () => {
    const pod = await runningPod('reader');
    api.controls.setPodLog(pod, 'old 1\nold 2\n', { at: new Date(Date.now() - 3_600_000) });
    api.controls.appendPodLog(pod, 'new 1\nnew 2\n');
    const read = (o: { tailLines?: number; sinceSeconds?: number; timestamps?: boolean } = {}) =>
      clients.core.readNamespacedPodLog({ namespace: 'default', name: pod, container: 'main', ...o });

    assert.equal(await read(), 'old 1\nold 2\nnew 1\nnew 2\n');
    assert.equal(await read({ tailLines: 1 }), 'new 2\n');
    assert.equal(await read({ sinceSeconds: 60 }), 'new 1\nnew 2\n');
    const stamped = await read({ tailLines: 1, timestamps: true });
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z new 2\n$/);
    assert.equal(api.controls.count({ resource: 'pods/log', verb: 'get' }) >= 4, true);
  });

  it('answers 404 for a missing pod and 400 for a container that has not started', async () => {
    const missing = await apiError(clients.core.readNamespacedPodLog({ namespace: 'default', name: 'nope' }));
    assert.equal(missing.code, 404);
    assert.equal(missing.status.reason, 'NotFound');

    api.controls.setPodStartDelay(60_000);
    await clients.apps.createNamespacedDeployment({ namespace: 'default', body: deployment('slow') });
    const pod = await waitFor(
      async () => (await clients.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=slow' })).items[0]?.metadata?.name,
      'a pod',
    );
    const waiting = await apiError(clients.core.readNamespacedPodLog({ namespace: 'default', name: pod, container: 'main' }));
    assert.equal(waiting.code, 400);
    assert.match(waiting.status.message, /is waiting to start: ContainerCreating/);
    api.controls.setPodStartDelay(20);
  });

  it('follows: sends lines written later, and ends when the pod goes', async () => {
    const pod = await runningPod('follower');
    api.controls.setPodLog(pod, 'first\n');
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => void (text += chunk.toString()));
    const ended = new Promise<void>((resolve) => out.on('end', resolve));
    await new Log(clients.kc).log('default', pod, 'main', out, { follow: true });
    await waitFor(() => text === 'first\n', 'the first line');
    assert.equal(api.controls.logFollowers(pod), 1);
    api.controls.appendPodLog(pod, 'second\n');
    await waitFor(() => text === 'first\nsecond\n', 'the appended line');

    await clients.apps.deleteNamespacedDeployment({ namespace: 'default', name: 'follower' });
    await ended;
    assert.equal(api.controls.logFollowers(pod), 0);
  });

  it('forgets a follow whose client goes away', async () => {
    const pod = await runningPod('leaver');
    api.controls.setPodLog(pod, 'hello\n');
    const controller = new AbortController();
    const res = await fetch(`${api.url}/api/v1/namespaces/default/pods/${pod}/log?follow=true`, {
      headers: { authorization: `Bearer ${api.token}` },
      signal: controller.signal,
    });
    assert.equal(res.headers.get('content-type'), 'text/plain');
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'hello\n');
    assert.equal(api.controls.logFollowers(pod), 1);
    controller.abort();
    await waitFor(() => api.controls.logFollowers(pod) === 0, 'the follow to close');
  });
});
