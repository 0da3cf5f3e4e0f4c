// The stand-in's watches, through client-node's own Watch class: the semantics that the
// Kubernetes runtime's event feed relies on must be the API server's (API concepts, "Efficient
// detection of changes"), or its tests prove nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Watch, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { startKubeStandin, type KubeStandin } from './index.ts';
import { clientsFor, uniqueName, waitFor } from '../../runtimes/kubernetes/helpers.ts';

interface Seen {
  type: string;
  object: any;
}

interface OpenWatch {
  events: Seen[];
  /** Settles when client-node calls `done`: with its error, or null when the server ended the stream. */
  ended: Promise<unknown>;
  controller: AbortController | undefined;
  /** Ends the watch from the client's side. */
  stop(): void;
}

async function openWatch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined>): Promise<OpenWatch> {
  const events: Seen[] = [];
  let finish!: (err: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (finish = resolve));
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (err) => finish(err ?? null),
  );
  return { events, ended, controller, stop: () => controller.abort() };
}

function deployment(name: string, labels: Record<string, string>): V1Deployment {
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { ...labels, app: name } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } },
    },
  };
}

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';
const PODS = '/api/v1/namespaces/default/pods';
const names = (events: Seen[], type?: string) =>
  events.filter((e) => type === undefined || e.type === type).map((e) => e.object.metadata.name);

describe('kube stand-in: watches', () => {
  let api: KubeStandin;
  let kc: KubeConfig;
  let apps: ReturnType<typeof clientsFor>['apps'];

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 20, watchHistory: 50 });
    ({ kc, apps } = clientsFor(api));
  });
  after(() => api.close());

  it('without a resourceVersion: synthetic ADDED events for what matches the selector now, then its changes', async () => {
    const team = uniqueName('team');
    const [a, b, other] = [uniqueName('a'), uniqueName('b'), uniqueName('o')];
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(a, { team }) });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(other, { team: 'other' }) });
    const w = await openWatch(kc, DEPLOYMENTS, { labelSelector: `team=${team}` });
    // "0" (start at any version) is served the same: the current state as ADDED events.
    const any = await openWatch(kc, DEPLOYMENTS, { labelSelector: `team=${team}`, resourceVersion: '0' });
    await waitFor(() => w.events.length > 0 && any.events.length > 0, 'the synthetic ADDED');
    assert.deepEqual([any.events[0]!.type, any.events[0]!.object.metadata.name], ['ADDED', a]);
    any.stop();
    assert.deepEqual([w.events[0]!.type, w.events[0]!.object.metadata.name], ['ADDED', a]);
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(b, { team }) });
    await waitFor(() => names(w.events, 'ADDED').includes(b), 'the new Deployment');
    await apps.deleteNamespacedDeployment({ namespace: 'default', name: a });
    const deleted = await waitFor(() => w.events.find((e) => e.type === 'DELETED'), 'the deletion');
    assert.equal(deleted.object.metadata.name, a);
    assert.equal(deleted.object.kind, 'Deployment');
    assert.ok(!names(w.events).includes(other), 'nothing outside the selector');
    w.stop();
    await w.ended;
  });

  it('from a list\'s resourceVersion ("watch=1" alike): only the changes after it, no synthetic events', async () => {
    const team = uniqueName('team');
    const before = uniqueName('before');
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(before, { team }) });
    await waitFor(
      () => api.controls.objects('pods').some((p) => p.metadata.labels?.team === team && p.status?.phase === 'Running'),
      'its pod running',
    );
    await api.controls.settle();
    const list = await apps.listNamespacedDeployment({ namespace: 'default', labelSelector: `team=${team}` });
    const w = await openWatch(kc, DEPLOYMENTS, {
      watch: 1,
      labelSelector: `team=${team}`,
      resourceVersion: list.metadata!.resourceVersion,
    });
    const later = uniqueName('later');
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(later, { team }) });
    await waitFor(() => w.events.length > 0, 'the change');
    await api.controls.settle();
    assert.ok(!names(w.events).includes(before), 'what existed at the version is not replayed');
    assert.equal(w.events[0]!.type, 'ADDED');
    assert.equal(w.events[0]!.object.metadata.name, later);
    w.stop();
  });

  it('replays the changes after an earlier version, in order, with pods going Pending -> Running as MODIFIED', async () => {
    const team = uniqueName('team');
    const start = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    const name = uniqueName('r');
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name, { team }) });
    await waitFor(
      () => api.controls.objects('pods').some((p) => p.metadata.labels?.team === team && p.status?.phase === 'Running'),
      'the pod running',
    );
    await apps.deleteNamespacedDeployment({ namespace: 'default', name });
    await waitFor(() => !api.controls.objects('pods').some((p) => p.metadata.labels?.team === team), 'the pod gone');
    // Opened after all of it happened: the history answers.
    const w = await openWatch(kc, PODS, { labelSelector: `team=${team}`, resourceVersion: start });
    await waitFor(() => w.events.some((e) => e.type === 'DELETED'), 'the replayed deletion');
    const types = w.events.map((e) => e.type);
    assert.equal(types[0], 'ADDED');
    assert.equal(types.at(-1), 'DELETED');
    assert.ok(types.slice(1, -1).every((t) => t === 'MODIFIED'));
    const phases = w.events.map((e) => e.object.status?.phase);
    assert.ok(phases.indexOf('Pending') < phases.indexOf('Running'), `phases in order: ${phases.join(', ')}`);
    w.stop();
  });

  it('gives every change its own resourceVersion, increasing across kinds as etcd does', async () => {
    const team = uniqueName('team');
    const start = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    const dw = await openWatch(kc, DEPLOYMENTS, { labelSelector: `team=${team}`, resourceVersion: start });
    const pw = await openWatch(kc, PODS, { labelSelector: `team=${team}`, resourceVersion: start });
    const name = uniqueName('v');
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name, { team }) });
    await waitFor(() => pw.events.some((e) => e.object.status?.phase === 'Running'), 'the pod running');
    await apps.deleteNamespacedDeployment({ namespace: 'default', name });
    await waitFor(() => pw.events.some((e) => e.type === 'DELETED'), 'the pod deleted');
    for (const w of [dw, pw]) {
      const versions = w.events.map((e) => Number(e.object.metadata.resourceVersion));
      assert.ok(
        versions.every((v, i) => i === 0 || v > versions[i - 1]!),
        `increasing within a watch: ${versions.join(', ')}`,
      );
      w.stop();
    }
    const all = [...dw.events, ...pw.events].map((e) => e.object.metadata.resourceVersion);
    assert.equal(new Set(all).size, all.length, 'no two changes of different kinds share a version');
    assert.ok(all.every((v) => Number(v) > Number(start)));
  });

  it('sends an object that leaves the selector as DELETED and one that enters it as ADDED', async () => {
    const team = uniqueName('team');
    const name = uniqueName('m');
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name, { team: 'elsewhere' }) });
    const w = await openWatch(kc, DEPLOYMENTS, {
      labelSelector: `team=${team}`,
      resourceVersion: (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion,
    });
    const relabel = async (value: string) => {
      // Read, edit, replace; again when the stand-in's controllers wrote in between (409).
      for (;;) {
        const d = await apps.readNamespacedDeployment({ namespace: 'default', name });
        d.metadata!.labels = { ...d.metadata!.labels, team: value };
        try {
          await apps.replaceNamespacedDeployment({ namespace: 'default', name, body: d });
          return;
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
        }
      }
    };
    await relabel(team);
    await waitFor(() => w.events.length > 0, 'entering the selector');
    await relabel('gone');
    await waitFor(() => w.events.some((e) => e.type === 'DELETED'), 'leaving the selector');
    await api.controls.settle();
    const seen = w.events.map((e) => `${e.type} ${e.object.metadata.labels.team}`);
    assert.equal(seen[0], `ADDED ${team}`);
    assert.equal(seen.at(-1), 'DELETED gone', 'and nothing once it has left');
    assert.ok(
      seen.slice(1, -1).every((t) => t === `MODIFIED ${team}`),
      seen.join(', '),
    );
    w.stop();
  });

  it('sends BOOKMARK events carrying only the current resourceVersion when they are allowed, and none otherwise', async () => {
    api.controls.setWatchBookmarkInterval(40);
    try {
      const selector = `team=${uniqueName('none')}`;
      const rv = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
      const withMarks = await openWatch(kc, DEPLOYMENTS, { labelSelector: selector, resourceVersion: rv, allowWatchBookmarks: true });
      const without = await openWatch(kc, DEPLOYMENTS, { labelSelector: selector, resourceVersion: rv });
      await waitFor(() => withMarks.events.length >= 2, 'two bookmarks');
      const mark = withMarks.events[0]!;
      assert.equal(mark.type, 'BOOKMARK');
      assert.deepEqual(Object.keys(mark.object).sort(), ['apiVersion', 'kind', 'metadata']);
      assert.deepEqual(Object.keys(mark.object.metadata), ['resourceVersion']);
      const now = (await apps.listNamespacedDeployment({ namespace: 'default', limit: 1 })).metadata!.resourceVersion!;
      assert.ok(Number(mark.object.metadata.resourceVersion) <= Number(now));
      assert.deepEqual(without.events, []);
      withMarks.stop();
      without.stop();
    } finally {
      api.controls.setWatchBookmarkInterval(60_000);
    }
  });

  it('ends the stream after timeoutSeconds, and forgets the watch', async () => {
    const t0 = Date.now();
    const w = await openWatch(kc, PODS, { labelSelector: `team=${uniqueName('t')}`, timeoutSeconds: 1 });
    assert.equal(api.controls.watchers('pods'), 1);
    assert.equal(await w.ended, null);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 3000, `ended after ${took} ms`);
    assert.equal(api.controls.watchers('pods'), 0);
  });

  it('releases a watch that the client aborts', async () => {
    const w = await openWatch(kc, PODS, { labelSelector: `team=${uniqueName('a')}` });
    await waitFor(() => api.controls.watchers('pods') === 1, 'the watch open');
    w.stop();
    await w.ended;
    await waitFor(() => api.controls.watchers('pods') === 0, 'the watch released');
  });

  it('answers a version older than its history with an ERROR event carrying the 410 Expired Status', async () => {
    const old = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(uniqueName('x'), { team: uniqueName('t') }) });
    api.controls.compactWatchHistory();
    const w = await openWatch(kc, DEPLOYMENTS, { resourceVersion: old });
    assert.equal(await w.ended, null, 'a 200 stream that the server ends');
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]!.type, 'ERROR');
    assert.deepEqual(Object.keys(w.events[0]!.object).sort(), ['apiVersion', 'code', 'kind', 'message', 'metadata', 'reason', 'status']);
    assert.equal(w.events[0]!.object.kind, 'Status');
    assert.equal(w.events[0]!.object.code, 410);
    assert.equal(w.events[0]!.object.reason, 'Expired');
    assert.match(w.events[0]!.object.message, new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    await waitFor(() => api.controls.watchers() === 0, 'no watch kept open');
    // The current version is still good.
    const now = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    const fresh = await openWatch(kc, DEPLOYMENTS, {
      labelSelector: `team=${uniqueName('none')}`,
      resourceVersion: now,
      timeoutSeconds: 1,
    });
    assert.equal(await fresh.ended, null);
    assert.deepEqual(fresh.events, []);
  });

  it('keeps a bounded history: a version more than watchHistory changes old is Expired', async () => {
    const first = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    for (let i = 0; i < 30; i++) {
      await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(uniqueName('h'), { team: 'history' }) });
    }
    await api.controls.settle();
    const w = await openWatch(kc, DEPLOYMENTS, { resourceVersion: first });
    await w.ended;
    assert.equal(w.events[0]?.object.reason, 'Expired');
  });

  it('refuses a resourceVersion that is not one (400) before streaming', async () => {
    const w = await openWatch(kc, DEPLOYMENTS, { resourceVersion: 'abc' });
    const err = (await w.ended) as { statusCode?: number };
    assert.equal(err?.statusCode, 400);
  });
});

describe('kube stand-in: watches refused with a 410 answer', () => {
  it("answers 410 to the request itself when asked to (watchExpiredAs: 'response')", async () => {
    await using api = await startKubeStandin({ watchExpiredAs: 'response' });
    const { kc, apps } = clientsFor(api);
    const old = (await apps.listNamespacedDeployment({ namespace: 'default' })).metadata!.resourceVersion!;
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(uniqueName('y'), { team: 'x' }) });
    api.controls.compactWatchHistory();
    const w = await openWatch(kc, DEPLOYMENTS, { resourceVersion: old });
    const err = (await w.ended) as { statusCode?: number };
    assert.equal(err?.statusCode, 410);
    assert.deepEqual(w.events, []);
  });
});
