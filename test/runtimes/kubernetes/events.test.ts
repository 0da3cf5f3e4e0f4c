// The Kubernetes runtime's event feed through @kubernetes/client-node's Watch against the API
// stand-in (which serves watches with the API's semantics): every type, filters, resuming after
// an id, a version too old (410), watches opened again when the server ends them, and release.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HydroplaneError } from '../../../src/errors.ts';
import { kubeConfigFor } from '../../../src/runtimes/kubernetes/cluster.ts';
import { KubernetesRuntime } from '../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import type { WatchTuning } from '../../../src/runtimes/kubernetes/api-client.ts';
import type { EventOptions, RuntimeEvent } from '../../../src/runtimes/runtime.ts';
import { ProcessEvent } from '../../../src/spec/process-event.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { startKubeStandin, type KubeStandin } from '../../support/kube-standin/index.ts';
import { rejectsWith } from '../../support/assertions.ts';
import { clientsFor, uniqueName, waitFor } from './helpers.ts';

const IMAGE = 'nginxdemos/hello:plain-text';

const spec = (name: string, extra: { group?: string; image?: string } = {}) =>
  ProcessSpec.parse({ process_name: name, ...(extra.group ? { group: extra.group } : {}), container: { image_uri: extra.image ?? IMAGE } });

function runtimeOn(api: KubeStandin, watch: WatchTuning = {}): KubernetesRuntime {
  return new KubernetesRuntime(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
    namespace: 'default',
    requestTimeoutMs: 5000,
    watch: { retryDelayMs: 20, ...watch },
  });
}

interface Follower {
  events: RuntimeEvent[];
  /** Settles when the iteration ends: with its error, or null. */
  ended: Promise<unknown>;
  stop(): void;
  /** Waits for an event matching `match`, and returns it. */
  next(match: (e: RuntimeEvent) => boolean, what: string): Promise<RuntimeEvent>;
  of(name: string): Array<[ProcessEvent['type'], ProcessEvent['status']]>;
}

async function follow(runtime: KubernetesRuntime, options: Omit<EventOptions, 'signal'> = {}): Promise<Follower> {
  const controller = new AbortController();
  const feed = await runtime.events({ ...options, signal: controller.signal });
  const events: RuntimeEvent[] = [];
  const ended = (async () => {
    try {
      for await (const e of feed) {
        ProcessEvent.parse(e); // every event is the shape GET /events promises
        events.push(e);
      }
      return null;
    } catch (err) {
      return err;
    }
  })();
  return {
    events,
    ended,
    stop: () => controller.abort(),
    next: (match, what) => waitFor(() => events.find(match), what, 5000),
    of: (name) => events.filter((e) => e.process_name === name).map((e) => [e.type, e.status]),
  };
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Kubernetes runtime: events', () => {
  let api: KubeStandin;
  let runtime: KubernetesRuntime;

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 30, watchBookmarkIntervalMs: 200 });
    runtime = runtimeOn(api);
  });
  after(async () => {
    await runtime.close();
    await api.close();
  });

  it('tells created and running for a start, stopped and removed for a stop, with ids and what GET says', async () => {
    const f = await follow(runtime);
    const name = uniqueName('life');
    await runtime.start(spec(name, { group: 'team' }));
    const running = await f.next((e) => e.process_name === name && e.type === 'running', 'running');
    assert.equal((await runtime.get(name))?.status, running.status);
    assert.deepEqual(f.of(name), [
      ['created', 'STARTING'],
      ['running', 'RUNNING'],
    ]);
    assert.equal(running.group, 'team');
    assert.ok(!Number.isNaN(Date.parse(running.time)));
    await runtime.stop(name);
    await f.next((e) => e.process_name === name && e.type === 'removed', 'removed');
    assert.equal(await runtime.get(name), undefined, 'GET says 404: REMOVED');
    assert.deepEqual(f.of(name), [
      ['created', 'STARTING'],
      ['running', 'RUNNING'],
      ['stopped', 'REMOVED'],
      ['removed', 'REMOVED'],
    ]);
    const ids = f.events.filter((e) => e.process_name === name).map((e) => e.id);
    assert.ok(
      ids.every((id) => /^k8s\.[A-Za-z0-9_-]+$/.test(id)),
      ids.join(' '),
    );
    f.stop();
    assert.equal(await f.ended, null);
  });

  it('tells exited with the exit code and its reason, and failed for a pull error and a crash loop, each status as GET says it', async () => {
    const f = await follow(runtime);
    const exits = uniqueName('exits');
    await runtime.start(spec(exits));
    await f.next((e) => e.process_name === exits && e.type === 'running', 'running');
    api.controls.failPods({ deployment: exits }, { reason: 'Exited', exitCode: 3 });
    const exited = await f.next((e) => e.process_name === exits && e.type === 'exited', 'exited');
    assert.equal(exited.exit_code, 3);
    assert.equal(exited.reason, 'Error');
    assert.equal((await runtime.get(exits))?.status, exited.status);

    api.controls.failPods({ deployment: exits }, { reason: 'CrashLoopBackOff', exitCode: 3, restarts: 2 });
    const crash = await f.next((e) => e.process_name === exits && e.type === 'failed', 'failed');
    assert.equal(crash.status, 'FAILED');
    assert.match(crash.reason ?? '', /^CrashLoopBackOff: the container exited with code 3/);
    assert.equal((await runtime.get(exits))?.reason, crash.reason);

    const image = `registry.invalid/${uniqueName('img')}:1`;
    api.controls.failPods({ image }, { reason: 'ErrImagePull' });
    const pulls = uniqueName('pulls');
    await runtime.start(spec(pulls, { image }));
    const failed = await f.next((e) => e.process_name === pulls && e.type === 'failed', 'failed');
    assert.match(failed.reason ?? '', /^ErrImagePull: /);
    assert.deepEqual(f.of(pulls), [
      ['created', 'STARTING'],
      ['failed', 'FAILED'],
    ]);
    f.stop();
    await Promise.all([runtime.stop(exits), runtime.stop(pulls)]);
  });

  it('tells nothing for changes that alter nothing GET shows (an annotation, status writes of the same state)', async () => {
    const name = uniqueName('noise');
    await runtime.start(spec(name));
    await waitFor(async () => (await runtime.get(name))?.status === 'RUNNING', 'running');
    await api.controls.settle();
    const f = await follow(runtime);
    const { apps, core } = clientsFor(api);
    const podsBefore = api.controls.objects('pods').filter((p) => p.metadata.labels?.['hydroplane/process-id'] === name).length;
    // Read, edit, replace; again on a conflict with the stand-in's controllers.
    const touch = async (write: () => Promise<unknown>) => {
      for (;;) {
        try {
          return await write();
        } catch (err) {
          if ((err as { code?: number }).code !== 409) throw err;
        }
      }
    };
    for (let i = 0; i < 3; i++) {
      await touch(async () => {
        const d = await apps.readNamespacedDeploymentStatus({ namespace: 'default', name });
        d.metadata!.annotations = { ...d.metadata!.annotations, touched: String(i) };
        await apps.replaceNamespacedDeploymentStatus({ namespace: 'default', name, body: d });
      });
      await touch(async () => {
        // The kubelet's status writes: a new resourceVersion, the same state.
        const [listed] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: `hydroplane/process-id=${name}` })).items;
        const pod = await core.readNamespacedPodStatus({ namespace: 'default', name: listed!.metadata!.name! });
        await core.replaceNamespacedPodStatus({ namespace: 'default', name: pod.metadata!.name!, body: pod });
      });
    }
    await api.controls.settle();
    await quiet(200);
    assert.equal(
      api.controls.objects('pods').filter((p) => p.metadata.labels?.['hydroplane/process-id'] === name).length,
      podsBefore,
      'the edits made no new pod',
    );
    assert.deepEqual(f.of(name), []);
    // A new pod (the old one deleted by someone) is a new run: told once.
    const [pod] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: `hydroplane/process-id=${name}` })).items;
    await core.deleteNamespacedPod({ namespace: 'default', name: pod!.metadata!.name! });
    await f.next((e) => e.process_name === name && e.type === 'running', 'the new pod running');
    await api.controls.settle();
    await quiet(150);
    assert.deepEqual(f.of(name), [['running', 'RUNNING']]);
    f.stop();
    await runtime.stop(name);
  });

  it("filters by group and by process name, as the watches' label selectors", async () => {
    const group = uniqueName('g');
    const [a, b, c] = [uniqueName('a'), uniqueName('b'), uniqueName('c')];
    const byGroup = await follow(runtime, { filter: { group } });
    const byName = await follow(runtime, { filter: { processName: b } });
    const quietOne = await follow(runtime, { filter: { processName: 'x'.repeat(70) } });
    await runtime.start(spec(a, { group }));
    await runtime.start(spec(b, { group }));
    await runtime.start(spec(c));
    await byGroup.next((e) => e.process_name === b && e.type === 'running', 'b running');
    await byName.next((e) => e.type === 'running', 'b running');
    await waitFor(async () => (await runtime.get(c))?.status === 'RUNNING', 'c running');
    await api.controls.settle();
    assert.deepEqual([...new Set(byGroup.events.map((e) => e.process_name))].sort(), [a, b].sort());
    assert.deepEqual([...new Set(byName.events.map((e) => e.process_name))], [b]);
    assert.deepEqual(quietOne.events, []);
    for (const f of [byGroup, byName, quietOne]) f.stop();
    assert.equal(await quietOne.ended, null);
    await Promise.all([a, b, c].map((n) => runtime.stop(n)));
  });

  it('resumes after an id: what came after it, and nothing before', async () => {
    const name = uniqueName('resume');
    const first = await follow(runtime, { filter: { processName: name } });
    await runtime.start(spec(name));
    const created = await first.next((e) => e.type === 'created', 'created');
    await first.next((e) => e.type === 'running', 'running');
    first.stop();
    await first.ended;
    await runtime.stop(name);
    await waitFor(() => api.controls.objects('pods').every((p) => p.metadata.labels?.['hydroplane/process-id'] !== name), 'pods gone');

    const resumed = await follow(runtime, { filter: { processName: name }, after: created.id });
    await resumed.next((e) => e.type === 'removed', 'removed');
    assert.deepEqual(resumed.of(name), [
      ['running', 'RUNNING'],
      ['stopped', 'REMOVED'],
      ['removed', 'REMOVED'],
    ]);
    const last = resumed.events.at(-1)!;
    resumed.stop();

    // After the last one: nothing replayed, and what comes next is told.
    const again = await follow(runtime, { filter: { processName: name }, after: last.id });
    await runtime.start(spec(name));
    await again.next((e) => e.type === 'running', 'running');
    assert.deepEqual(again.of(name), [
      ['created', 'STARTING'],
      ['running', 'RUNNING'],
    ]);
    again.stop();
    await runtime.stop(name);
  });

  it('refuses an id that is not one of its own, before any event', async () => {
    await rejectsWith(runtime.events({ after: '17' }), 'invalid_request');
    await rejectsWith(runtime.events({ after: 'k8s.bm90LWpzb24' }), 'invalid_request');
  });

  it('answers a cluster that refuses the watch (RBAC without watch) with its error, before any event', async () => {
    const fault = api.controls.injectFault({ verb: 'watch', resource: 'pods' }, { status: 403 });
    try {
      const err = await rejectsWith(runtime.events(), 'runtime_forbidden');
      assert.match(err.message, /watch pods/);
    } finally {
      fault.remove();
    }
    await waitFor(() => api.controls.watchers() === 0, 'the deployments watch released too');
  });

  it('resumes after an id older than the history (410): tells the current state of what the gap changed', async () => {
    const [kept, gone, born] = [uniqueName('kept'), uniqueName('gone'), uniqueName('born')];
    const group = uniqueName('gap');
    await runtime.start(spec(kept, { group }));
    await runtime.start(spec(gone, { group }));
    const f = await follow(runtime, { filter: { group } });
    await waitFor(async () => (await runtime.list({ group })).every((p) => p.status === 'RUNNING'), 'both running');
    const marker = uniqueName('marker');
    await runtime.start(spec(marker, { group }));
    const cursor = (await f.next((e) => e.process_name === marker && e.type === 'running', 'marker running')).id;
    f.stop();
    await f.ended;

    await runtime.stop(gone);
    await runtime.start(spec(born, { group }));
    await waitFor(async () => (await runtime.get(born))?.status === 'RUNNING', 'born running');
    api.controls.compactWatchHistory();

    const resumed = await follow(runtime, { filter: { group }, after: cursor });
    await resumed.next((e) => e.process_name === born && e.type === 'running', 'born told');
    // What it still knows: born's life (created at its time, running), none of the unchanged ones.
    assert.deepEqual(resumed.of(born), [
      ['created', 'STARTING'],
      ['running', 'RUNNING'],
    ]);
    const createdAt = resumed.events.find((e) => e.process_name === born && e.type === 'created')!.time;
    assert.equal(createdAt, (await runtime.get(born))!.created.replace(/\.\d+Z$/, '.000Z'));
    // Then it follows as usual.
    await runtime.stop(born);
    await resumed.next((e) => e.process_name === born && e.type === 'removed', 'born removed');
    resumed.stop();
    await Promise.all([kept, gone, marker].map((n) => runtime.stop(n).catch(() => {})));
  });

  it('lists again when a watch comes back to an expired version mid-stream, and tells the difference', async () => {
    const group = uniqueName('mid');
    const [before1, during] = [uniqueName('b'), uniqueName('d')];
    await runtime.start(spec(before1, { group }));
    await waitFor(async () => (await runtime.get(before1))?.status === 'RUNNING', 'running');
    await api.controls.settle();
    const f = await follow(runtime, { filter: { group } });
    // The watches drop and cannot come back for a while; meanwhile the cluster changes and its history is compacted.
    const fault = api.controls.injectFault({ verb: 'watch' }, { status: 503 });
    api.controls.closeWatches();
    await runtime.stop(before1);
    await runtime.start(spec(during, { group }));
    await waitFor(async () => (await runtime.get(during))?.status === 'RUNNING', 'during running');
    await waitFor(() => api.controls.objects('pods').every((p) => p.metadata.labels?.['hydroplane/process-id'] !== before1), 'gone');
    api.controls.compactWatchHistory();
    fault.remove();
    await f.next((e) => e.process_name === during && e.type === 'running', 'during told');
    await f.next((e) => e.process_name === before1 && e.type === 'removed', 'before1 removed');
    assert.deepEqual(f.of(before1), [
      ['stopped', 'REMOVED'],
      ['removed', 'REMOVED'],
    ]);
    assert.deepEqual(f.of(during), [
      ['created', 'STARTING'],
      ['running', 'RUNNING'],
    ]);
    f.stop();
    await runtime.stop(during);
  });

  it('opens the watches again when the server ends them (timeoutSeconds), losing nothing and repeating nothing', async () => {
    const short = runtimeOn(api, { timeoutSeconds: 1 });
    const group = uniqueName('t');
    const f = await follow(short, { filter: { group } });
    const opened = () => api.controls.count({ verb: 'watch' });
    const start = opened();
    const names: string[] = [];
    // Changes spread over several of the server's ends.
    for (let i = 0; i < 5; i++) {
      const name = uniqueName('t');
      names.push(name);
      await short.start(spec(name, { group }));
      await quiet(450);
    }
    for (const name of names) await f.next((e) => e.process_name === name && e.type === 'running', `${name} running`);
    assert.ok(opened() - start >= 4, `the watches were opened again (${opened() - start} watch requests)`);
    for (const name of names)
      assert.deepEqual(f.of(name), [
        ['created', 'STARTING'],
        ['running', 'RUNNING'],
      ]);
    f.stop();
    await Promise.all(names.map((n) => short.stop(n)));
  });

  it("reopens a quiet watch from its last bookmark's version, so history compacted meanwhile costs no new list", async () => {
    const quietGroup = uniqueName('quiet');
    const f = await follow(runtime, { filter: { group: quietGroup } });
    // Others' changes move the cluster's version on; the quiet feed learns of it from bookmarks only.
    const busy = uniqueName('busy');
    await runtime.start(spec(busy, { group: uniqueName('other') }));
    await waitFor(async () => (await runtime.get(busy))?.status === 'RUNNING', 'busy running');
    await runtime.stop(busy);
    await api.controls.settle();
    await quiet(500); // bookmarks every 200 ms
    api.controls.resetRequests();
    api.controls.compactWatchHistory();
    api.controls.closeWatches();
    await waitFor(() => api.controls.count({ verb: 'watch' }) === 2 && api.controls.watchers() >= 2, 'both watches reopened');
    for (const r of api.controls.requests({ verb: 'watch' })) assert.equal(r.status, 200, `${r.resource} from ${r.resourceVersion}`);
    assert.equal(api.controls.count({ verb: 'list' }), 0, 'no 410, so no new list');
    const p = uniqueName('q');
    await runtime.start(spec(p, { group: quietGroup }));
    await f.next((e) => e.process_name === p && e.type === 'running', 'running after the reopening');
    f.stop();
    await runtime.stop(p);
  });

  it('ends the feed with the error once a watch cannot be opened again after its retries', async () => {
    const f = await follow(runtimeOn(api, { retries: 2, retryDelayMs: 10 }));
    const fault = api.controls.injectFault(
      { verb: 'watch', resource: 'pods' },
      { status: 503, message: 'the API server is shutting down' },
    );
    try {
      api.controls.closeWatches();
      const err = await f.ended;
      assert.ok(err instanceof HydroplaneError, String(err));
      assert.equal(err.code, 'runtime_unavailable', err.message);
      assert.match(err.message, /following process events/);
      assert.equal(fault.hits, 3, 'the first reopening and two retries');
      await waitFor(() => api.controls.watchers() === 0, 'the other watch released');
    } finally {
      fault.remove();
    }
  });

  it('releases both watches when the signal aborts, when the caller stops iterating, and on close', async () => {
    await waitFor(() => api.controls.watchers() === 0, 'no watch open before');
    const f = await follow(runtime);
    assert.equal(api.controls.watchers('deployments'), 1);
    assert.equal(api.controls.watchers('pods'), 1);
    f.stop();
    assert.equal(await f.ended, null);
    await waitFor(() => api.controls.watchers() === 0, 'the watches released after abort');

    const feed = await runtime.events();
    const name = uniqueName('brk');
    await runtime.start(spec(name));
    for await (const e of feed) if (e.process_name === name) break;
    await waitFor(() => api.controls.watchers() === 0, 'the watches released after break');

    const other = runtimeOn(api);
    const g = await follow(other);
    assert.equal(api.controls.watchers(), 2);
    await other.close();
    assert.equal(await g.ended, null);
    await waitFor(() => api.controls.watchers() === 0, 'the watches released on close');
    await runtime.stop(name);
  });
});
