// Watch changes -> process events (process-events.ts), without a cluster. A small simulator of a
// cluster's objects (Deployments, pods through Pending, Running, a crash loop, a pull failure, an
// exit, status noise, a second pod, deletion and garbage collection) makes the watch changes of
// generated histories; the properties say what the events must be whatever the history: each
// event's status is what GET /process would say right then (process-status.ts on the same
// objects), a change that alters nothing GET shows tells nothing, and each process's events come
// in the order of its life.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { GROUP_LABEL, PROCESS_LABEL } from '../../../src/labels.ts';
import { ProcessEventState, eventsOf, resyncEvents, seedState, type WatchChange } from '../../../src/runtimes/kubernetes/process-events.ts';
import { currentPod, processStatus } from '../../../src/runtimes/kubernetes/process-status.ts';
import type { ProcessEvent } from '../../../src/spec/process-event.ts';

const T0 = Date.UTC(2026, 0, 1);

/** A changed copy, as the API server's next version of an object is. */
function edited<T extends { metadata?: object }>(o: T, edit: (copy: T & { metadata: NonNullable<T['metadata']> }) => void): T {
  const copy = structuredClone(o) as T & { metadata: NonNullable<T['metadata']> };
  copy.metadata ??= {} as NonNullable<T['metadata']>;
  edit(copy);
  return copy;
}
const at = (tick: number) => new Date(T0 + tick * 1000);

type Op = 'create' | 'pod' | 'run' | 'crash' | 'pullFail' | 'exit' | 'noise' | 'terminatePod' | 'gcPod' | 'stop' | 'stopForeground';
interface Action {
  process: number;
  op: Op;
  code: number;
}

/** A cluster's Deployments and pods of a few processes, changed as the API server and kubelet would. */
class Cluster {
  readonly deployments = new Map<string, V1Deployment>();
  readonly pods = new Map<string, V1Pod[]>();
  #uid = 0;
  tick = 0;

  /** The watch changes that one action makes (none when it cannot happen now). */
  apply(a: Action): WatchChange[] {
    this.tick++;
    const name = `p${a.process}`;
    const labels = { [PROCESS_LABEL]: name, ...(a.process === 0 ? { [GROUP_LABEL]: 'g' } : {}) };
    const d = this.deployments.get(name);
    const pods = this.pods.get(name) ?? [];
    const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
    const newest = live.at(-1);
    const modify = (pod: V1Pod, status: V1Pod['status']): WatchChange => {
      const next = edited(pod, (p) => (p.status = status));
      this.pods.set(
        name,
        pods.map((p) => (p === pod ? next : p)),
      );
      return { kind: 'Pod', type: 'MODIFIED', object: next };
    };
    const container = (state: V1ContainerStatus['state'], extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus => ({
      name,
      image: 'img',
      imageID: '',
      ready: false,
      restartCount: 0,
      state,
      ...extra,
    });
    const restarts = (pod: V1Pod) => pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
    switch (a.op) {
      case 'create': {
        if (d) return [];
        const created: V1Deployment = {
          metadata: { name, uid: `d${++this.#uid}`, labels, creationTimestamp: at(this.tick) },
          spec: { selector: {}, template: { spec: { containers: [{ name, image: 'img' }] } } },
        };
        this.deployments.set(name, created);
        return [{ kind: 'Deployment', type: 'ADDED', object: created }];
      }
      case 'pod': {
        if (!d || d.metadata?.deletionTimestamp || live.length >= 2) return [];
        const pod: V1Pod = {
          metadata: { name: `${name}-${this.#uid + 1}`, uid: `u${++this.#uid}`, labels, creationTimestamp: at(this.tick) },
          spec: { containers: [{ name, image: 'img' }] },
          status: { phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })] },
        };
        this.pods.set(name, [...pods, pod]);
        return [{ kind: 'Pod', type: 'ADDED', object: pod }];
      }
      case 'run':
        if (!newest) return [];
        return [
          modify(newest, {
            phase: 'Running',
            containerStatuses: [
              container({ running: { startedAt: at(this.tick) } }, { started: true, ready: true, restartCount: restarts(newest) + 1 }),
            ],
          }),
        ];
      case 'crash':
        if (!newest) return [];
        return [
          modify(newest, {
            phase: 'Running',
            containerStatuses: [
              container(
                { waiting: { reason: 'CrashLoopBackOff' } },
                { restartCount: restarts(newest) + 1, lastState: { terminated: { exitCode: a.code, finishedAt: at(this.tick) } } },
              ),
            ],
          }),
        ];
      case 'pullFail':
        if (!newest) return [];
        return [
          modify(newest, {
            phase: 'Pending',
            containerStatuses: [
              container({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off' } }, { restartCount: restarts(newest) }),
            ],
          }),
        ];
      case 'exit':
        if (!newest) return [];
        return [
          modify(newest, {
            phase: 'Running',
            containerStatuses: [
              container(
                {
                  terminated: {
                    exitCode: a.code,
                    reason: a.code === 0 ? 'Completed' : 'Error',
                    finishedAt: at(this.tick),
                    containerID: `c${this.tick}`,
                  },
                },
                { restartCount: restarts(newest) },
              ),
            ],
          }),
        ];
      case 'noise': {
        // A status update that changes nothing GET shows: an annotation, a new resourceVersion.
        const target = a.code % 2 === 0 ? d : pods[a.code % Math.max(1, pods.length)];
        if (!target) return [];
        const next = edited<V1Deployment | V1Pod>(target, (o) => (o.metadata.annotations = { tick: String(this.tick) }));
        if (target === d) {
          this.deployments.set(name, next as V1Deployment);
          return [{ kind: 'Deployment', type: 'MODIFIED', object: next as V1Deployment }];
        }
        this.pods.set(
          name,
          pods.map((p) => (p === target ? (next as V1Pod) : p)),
        );
        return [{ kind: 'Pod', type: 'MODIFIED', object: next as V1Pod }];
      }
      case 'terminatePod': {
        const target = live[a.code % Math.max(1, live.length)];
        if (!target) return [];
        const next = edited(target, (p) => (p.metadata.deletionTimestamp = at(this.tick)));
        this.pods.set(
          name,
          pods.map((p) => (p === target ? next : p)),
        );
        return [{ kind: 'Pod', type: 'MODIFIED', object: next }];
      }
      case 'gcPod': {
        const target = pods.find((p) => p.metadata?.deletionTimestamp);
        if (!target) return [];
        this.pods.set(
          name,
          pods.filter((p) => p !== target),
        );
        return [{ kind: 'Pod', type: 'DELETED', object: target }];
      }
      case 'stop':
      case 'stopForeground': {
        if (!d) return [];
        const changes: WatchChange[] = [];
        if (a.op === 'stopForeground' && !d.metadata?.deletionTimestamp) {
          const marked = edited(d, (o) => (o.metadata.deletionTimestamp = at(this.tick)));
          this.deployments.set(name, marked);
          changes.push({ kind: 'Deployment', type: 'MODIFIED', object: marked });
        } else {
          this.deployments.delete(name);
          changes.push({ kind: 'Deployment', type: 'DELETED', object: d });
        }
        // The garbage collector marks the pods for deletion.
        const marked = pods.map((p) =>
          p.metadata?.deletionTimestamp ? p : edited(p, (o) => (o.metadata.deletionTimestamp = at(this.tick))),
        );
        for (const p of marked) if (!pods.includes(p)) changes.push({ kind: 'Pod', type: 'MODIFIED', object: p });
        this.pods.set(name, marked);
        return changes;
      }
    }
  }
}

/**
 * The objects as they stand after each watch change, one change at a time: what GET /process
 * reads at that moment (an action can make several changes, a stop's Deployment then its pods).
 */
class View {
  readonly deployments = new Map<string, V1Deployment>();
  readonly pods = new Map<string, Map<string, V1Pod>>();

  apply(change: WatchChange): void {
    if (change.kind === 'Deployment') {
      const name = change.object.metadata!.name!;
      if (change.type === 'DELETED') this.deployments.delete(name);
      else this.deployments.set(name, change.object);
      return;
    }
    const name = change.object.metadata!.labels![PROCESS_LABEL]!;
    const pods = this.pods.get(name) ?? new Map<string, V1Pod>();
    if (change.type === 'DELETED') pods.delete(change.object.metadata!.uid!);
    else pods.set(change.object.metadata!.uid!, change.object);
    this.pods.set(name, pods);
  }

  allDeployments(): V1Deployment[] {
    return [...this.deployments.values()];
  }

  allPods(): V1Pod[] {
    return [...this.pods.values()].flatMap((m) => [...m.values()]);
  }

  #pods(name: string): V1Pod[] {
    return [...(this.pods.get(name)?.values() ?? [])];
  }

  /** What GET /process says of a process now: its status, or REMOVED for a 404. */
  statusOf(name: string): ProcessEvent['status'] {
    const d = this.deployments.get(name);
    return d ? processStatus(d, currentPod(this.#pods(name))).status : 'REMOVED';
  }

  /** What a transition is of: the Deployment, the current pod and the run of its container. */
  subject(name: string): string {
    const pod = currentPod(this.#pods(name));
    return JSON.stringify([
      this.deployments.get(name)?.metadata?.uid,
      pod?.metadata?.uid,
      pod?.status?.containerStatuses?.[0]?.restartCount,
    ]);
  }

  /** Everything of a process that GET shows or that an event is about. */
  observable(name: string): string {
    const d = this.deployments.get(name);
    const pods = this.#pods(name);
    const pod = currentPod(pods);
    const c = pod?.status?.containerStatuses?.[0];
    return JSON.stringify([
      d?.metadata?.uid,
      Boolean(d?.metadata?.deletionTimestamp),
      d && processStatus(d, pod),
      pod?.metadata?.uid,
      c?.restartCount,
      c?.state,
      pods.length === 0,
    ]);
  }
}

const ops: Op[] = ['create', 'pod', 'run', 'crash', 'pullFail', 'exit', 'noise', 'terminatePod', 'gcPod', 'stop', 'stopForeground'];
const actions = fc.array(
  fc.record({ process: fc.integer({ min: 0, max: 1 }), op: fc.constantFrom(...ops), code: fc.integer({ min: 0, max: 255 }) }),
  { minLength: 10, maxLength: 80, size: 'max' },
);

/** Runs a history through the mapping; each event with what GET /process says right after its change. */
function run(history: Action[]) {
  const cluster = new Cluster();
  const view = new View();
  const state = new ProcessEventState();
  const told: Array<{
    event: ProcessEvent;
    getSays: ProcessEvent['status'];
    action: Action;
    before: string;
    after: string;
    subject: string;
  }> = [];
  for (const action of history) {
    const name = `p${action.process}`;
    for (const change of cluster.apply(action)) {
      const before = view.observable(name);
      view.apply(change);
      for (const event of eventsOf(state, change, at(cluster.tick))) {
        told.push({
          event,
          getSays: view.statusOf(event.process_name),
          action,
          before,
          after: view.observable(name),
          subject: view.subject(name),
        });
      }
    }
  }
  return told;
}

const letter: Record<ProcessEvent['type'], string> = { created: 'c', running: 'r', exited: 'x', failed: 'f', stopped: 's', removed: 'R' };

describe('process events from watch changes (generated histories)', () => {
  it("gives each event the status GET /process says right after its change; a stop's status is REMOVED once the Deployment is gone", () => {
    fc.assert(
      fc.property(actions, (history) => {
        for (const { event, getSays } of run(history)) assert.equal(event.status, getSays, JSON.stringify(event));
      }),
      { numRuns: 300 },
    );
  });

  it('tells nothing for a change that alters nothing GET shows (status noise, a pod that is not the current one)', () => {
    fc.assert(
      fc.property(actions, (history) => {
        for (const { event, before, after, action } of run(history)) {
          assert.notEqual(after, before, `${event.type} from ${action.op}, which changed nothing`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("tells each process's life in order: created, then running/exited/failed, stopped, and removed last", () => {
    fc.assert(
      fc.property(actions, (history) => {
        const lives = new Map<string, string>();
        for (const { event } of run(history)) lives.set(event.process_name, (lives.get(event.process_name) ?? '') + letter[event.type]);
        for (const [name, life] of lives) assert.match(life, /^(c[rxf]*(sR?)?)*$/, `${name}: ${life}`);
      }),
      { numRuns: 300 },
    );
  });

  it('never tells the same transition twice in a row: a repeat is of another pod or another run of its container', () => {
    fc.assert(
      fc.property(actions, (history) => {
        const last = new Map<string, { event: ProcessEvent; subject: string }>();
        for (const { event, subject } of run(history)) {
          const previous = last.get(event.process_name);
          const same = (a: ProcessEvent, b: ProcessEvent) =>
            a.type === b.type && a.status === b.status && a.reason === b.reason && a.exit_code === b.exit_code;
          if (previous && same(previous.event, event)) assert.notEqual(subject, previous.subject, `${event.type} twice for one subject`);
          last.set(event.process_name, { event, subject });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells created once per Deployment, stopped once per stop, and removed only when no pod of a stopped process is left', () => {
    fc.assert(
      fc.property(actions, (history) => {
        const cluster = new Cluster();
        const state = new ProcessEventState();
        const counts = { create: 0, created: 0, stop: 0, stopped: 0 };
        const marked = new Set<string>();
        for (const action of history) {
          const name = `p${action.process}`;
          const changes = cluster.apply(action);
          if (changes.length > 0 && action.op === 'create') counts.create++;
          const d = cluster.deployments.get(name);
          if (changes.length > 0 && (action.op === 'stop' || action.op === 'stopForeground')) {
            // A foreground stop of a Deployment already marked is its deletion, not another stop.
            const uid = changes[0]!.object.metadata!.uid!;
            if (!marked.has(uid)) counts.stop++;
            marked.add(uid);
          }
          for (const change of changes) {
            for (const event of eventsOf(state, change, at(cluster.tick))) {
              if (event.type === 'created') counts.created++;
              if (event.type === 'stopped') counts.stopped++;
              if (event.type === 'removed') {
                assert.equal(d, undefined, 'removed while its Deployment exists');
                assert.equal((cluster.pods.get(name) ?? []).length, 0, 'removed while a pod is left');
              }
            }
          }
        }
        assert.equal(counts.created, counts.create);
        assert.equal(counts.stopped, counts.stop);
      }),
      { numRuns: 300 },
    );
  });
});

describe('process events after an expired version (resyncEvents)', () => {
  it('ends each process in the transition that a feed which saw everything ends in, whatever the gap hid', () => {
    fc.assert(
      fc.property(actions, fc.nat(), (history, cut) => {
        const k = history.length === 0 ? 0 : cut % (history.length + 1);
        const full = new ProcessEventState();
        const gapped = new ProcessEventState();
        const cluster = new Cluster();
        const view = new View();
        const lastFull = new Map<string, string>();
        const lastGapped = new Map<string, string>();
        history.forEach((action, i) => {
          for (const change of cluster.apply(action)) {
            view.apply(change);
            for (const e of eventsOf(full, change, at(cluster.tick))) lastFull.set(e.process_name, e.type);
            if (i < k) for (const e of eventsOf(gapped, change, at(cluster.tick))) lastGapped.set(e.process_name, e.type);
          }
        });
        for (const e of resyncEvents(gapped, view.allDeployments(), view.allPods(), at(cluster.tick + 1))) {
          // Created is told at its creation, with the status it had then; a stop of a Deployment that is
          // gone (even if a new one has its name now) and a removal as REMOVED; the rest as GET says now.
          const marked = view.deployments.get(e.process_name)?.metadata?.deletionTimestamp !== undefined;
          const expected =
            e.type === 'created'
              ? 'STARTING'
              : e.type === 'removed' || (e.type === 'stopped' && !marked)
                ? 'REMOVED'
                : view.statusOf(e.process_name);
          // A replaced Deployment's stop is REMOVED even while the new one is being deleted.
          const either = e.type === 'stopped' && marked && e.status === 'REMOVED';
          if (!either) assert.equal(e.status, expected, JSON.stringify(e));
          lastGapped.set(e.process_name, e.type);
        }
        // What was last told of each process is what its objects show now.
        for (const name of new Set([...lastFull.keys(), ...lastGapped.keys()])) {
          const told = lastGapped.get(name);
          const d = view.deployments.get(name);
          const pods = view.allPods().filter((p) => p.metadata?.labels?.[PROCESS_LABEL] === name);
          const status = view.statusOf(name);
          const current = currentPod(pods);
          if (!d) {
            // Gone: nothing may leave it looking alive. An incarnation that came and went inside the gap is lost.
            const allowed = pods.length === 0 ? [undefined, 'removed'] : [undefined, 'stopped', 'removed'];
            assert.ok(allowed.includes(told), `${name}: gone (${pods.length} pods), last told ${told}`);
            continue;
          }
          let expected: string | undefined;
          if (d.metadata?.deletionTimestamp) expected = 'stopped';
          else if (status === 'RUNNING') expected = 'running';
          else if (status === 'FAILED') expected = 'failed';
          else if (current?.status?.containerStatuses?.some((c) => c.state?.terminated)) expected = 'exited';
          if (expected === undefined) continue; // starting: the last told may be anything before
          assert.equal(told, expected, `${name}: now ${expected}, last told ${told} (full feed: ${lastFull.get(name)})`);
        }
        // From then on, the two feeds agree on what to tell.
        const quietChange = view.allDeployments()[0];
        if (quietChange) assert.deepEqual(eventsOf(gapped, { kind: 'Deployment', type: 'MODIFIED', object: quietChange }, at(999)), []);
      }),
      { numRuns: 300 },
    );
  });

  it('tells a process born in the gap as created then its transition, and one gone in it as stopped and removed', () => {
    const labels = (name: string) => ({ [PROCESS_LABEL]: name });
    const dep = (name: string, uid: string): V1Deployment => ({
      metadata: { name, uid, labels: labels(name), creationTimestamp: at(1) },
      spec: { selector: {}, template: {} },
    });
    const up = (name: string, uid: string): V1Pod => ({
      metadata: { name: `${name}-x`, uid, labels: labels(name), creationTimestamp: at(2) },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name, image: 'i', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: at(3) } } },
        ],
      },
    });
    const state = new ProcessEventState();
    seedState(state, [dep('kept', 'd1'), dep('gone', 'd2')], [up('kept', 'p1'), up('gone', 'p2')], at(4));
    const told = resyncEvents(state, [dep('kept', 'd1'), dep('born', 'd3')], [up('kept', 'p1'), up('born', 'p3')], at(5));
    assert.deepEqual(
      told.map((e) => [e.process_name, e.type, e.status, e.time]),
      [
        ['born', 'created', 'STARTING', at(1).toISOString()],
        ['born', 'running', 'RUNNING', at(3).toISOString()],
        ['gone', 'stopped', 'REMOVED', at(5).toISOString()],
        ['gone', 'removed', 'REMOVED', at(5).toISOString()],
      ],
    );
  });
});

describe('process events from watch changes (named cases)', () => {
  const name = 'web';
  const labels = { [PROCESS_LABEL]: name, [GROUP_LABEL]: 'team' };
  const deployment: V1Deployment = {
    metadata: { name, uid: 'd1', labels, creationTimestamp: at(0) },
    spec: { selector: {}, template: {} },
  };
  const pod = (status: V1Pod['status'], uid = 'u1'): V1Pod => ({
    metadata: { name: `${name}-x`, uid, labels, creationTimestamp: at(1) },
    status,
  });
  const running = pod({
    phase: 'Running',
    containerStatuses: [
      { name, image: 'i', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: at(5) } } },
    ],
  });

  it('tells created, running, exited with its code and reason, failed for a crash loop, then stopped and removed', () => {
    const state = new ProcessEventState();
    const now = at(10);
    const told = [
      ...eventsOf(state, { kind: 'Deployment', type: 'ADDED', object: deployment }, now),
      ...eventsOf(state, { kind: 'Pod', type: 'ADDED', object: pod({ phase: 'Pending' }) }, now),
      ...eventsOf(state, { kind: 'Pod', type: 'MODIFIED', object: running }, now),
      ...eventsOf(state, { kind: 'Pod', type: 'MODIFIED', object: running }, now),
      ...eventsOf(
        state,
        {
          kind: 'Pod',
          type: 'MODIFIED',
          object: pod({
            phase: 'Running',
            containerStatuses: [
              {
                name,
                image: 'i',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 3, reason: 'Error', finishedAt: at(7) } },
              },
            ],
          }),
        },
        now,
      ),
      ...eventsOf(
        state,
        {
          kind: 'Pod',
          type: 'MODIFIED',
          object: pod({
            phase: 'Running',
            containerStatuses: [
              {
                name,
                image: 'i',
                imageID: '',
                ready: false,
                restartCount: 1,
                state: { waiting: { reason: 'CrashLoopBackOff' } },
                lastState: { terminated: { exitCode: 3 } },
              },
            ],
          }),
        },
        now,
      ),
      ...eventsOf(state, { kind: 'Deployment', type: 'DELETED', object: deployment }, now),
      ...eventsOf(state, { kind: 'Pod', type: 'DELETED', object: running }, at(11)),
    ];
    assert.deepEqual(told, [
      { process_name: name, group: 'team', type: 'created', status: 'STARTING', time: at(0).toISOString() },
      { process_name: name, group: 'team', type: 'running', status: 'RUNNING', time: at(5).toISOString() },
      { process_name: name, group: 'team', type: 'exited', status: 'STARTING', time: at(7).toISOString(), exit_code: 3, reason: 'Error' },
      {
        process_name: name,
        group: 'team',
        type: 'failed',
        status: 'FAILED',
        time: now.toISOString(),
        reason: 'CrashLoopBackOff: the container exited with code 3 and was restarted 1 time',
      },
      { process_name: name, group: 'team', type: 'stopped', status: 'REMOVED', time: now.toISOString() },
      { process_name: name, group: 'team', type: 'removed', status: 'REMOVED', time: at(11).toISOString() },
    ]);
  });

  it('starts a fresh feed from the listed state without telling it, and tells what changes after', () => {
    const state = new ProcessEventState();
    seedState(state, [deployment], [running], at(10));
    assert.deepEqual(eventsOf(state, { kind: 'Pod', type: 'MODIFIED', object: running }, at(11)), []);
    assert.deepEqual(
      eventsOf(state, { kind: 'Deployment', type: 'DELETED', object: deployment }, at(12)).map((e) => e.type),
      ['stopped'],
    );
  });

  it("a resuming feed tells a pod's change before it has seen the Deployment, with the pod's group", () => {
    const state = new ProcessEventState({ resuming: true });
    assert.deepEqual(
      eventsOf(state, { kind: 'Pod', type: 'MODIFIED', object: running }, at(11)).map((e) => [e.type, e.status, e.group]),
      [['running', 'RUNNING', 'team']],
    );
  });

  it('ignores a Deployment labelled for a process but named otherwise, as list does', () => {
    const state = new ProcessEventState();
    const foreign = edited(deployment, (d) => (d.metadata.name = 'other'));
    assert.deepEqual(eventsOf(state, { kind: 'Deployment', type: 'ADDED', object: foreign }, at(1)), []);
  });
});
