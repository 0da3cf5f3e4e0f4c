// What a process's objects say about it (process-status.ts), without a cluster: which pod is the
// current one, the status and its reason, the addresses, and the ProcessInfo they make. Classes
// of pods are generated with fast-check; the named cases are the kubelet's states the README lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  V1ContainerStatus,
  V1Deployment,
  V1DeploymentCondition,
  V1Node,
  V1Pod,
  V1PodCondition,
  V1Service,
} from '@kubernetes/client-node';
import {
  containerTimes,
  currentPod,
  isPublic,
  processInfo,
  processStatus,
  socketAddresses,
} from '../../../src/runtimes/kubernetes/process-status.ts';
import { GROUP_LABEL, PROCESS_LABEL } from '../../../src/labels.ts';
import type { ProcessInfo } from '../../../src/spec/process-info.ts';

const T0 = Date.UTC(2024, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function container(state: V1ContainerStatus['state'], extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus {
  return { name: 'web', image: 'nginx', imageID: '', ready: false, restartCount: 0, state, ...extra };
}

const up = (extra: Partial<V1ContainerStatus> = {}) =>
  container({ running: { startedAt: at(1) } }, { started: true, ready: true, ...extra });
const waiting = (reason: string, message?: string) => container({ waiting: message === undefined ? { reason } : { reason, message } });

interface PodOptions {
  created?: number;
  deleting?: boolean;
  phase?: string;
  containers?: V1ContainerStatus[];
  node?: string;
  hostIP?: string;
  conditions?: V1PodCondition[];
}

function pod(name: string, options: PodOptions = {}): V1Pod {
  return {
    metadata: {
      name,
      labels: { [PROCESS_LABEL]: 'web' },
      creationTimestamp: at(options.created ?? 0),
      ...(options.deleting ? { deletionTimestamp: at(1000) } : {}),
    },
    spec: { containers: [{ name: 'web' }], ...(options.node === undefined ? {} : { nodeName: options.node }) },
    status: {
      phase: options.phase ?? 'Running',
      containerStatuses: options.containers ?? [up()],
      ...(options.hostIP === undefined ? {} : { hostIP: options.hostIP }),
      ...(options.conditions === undefined ? {} : { conditions: options.conditions }),
    },
  };
}

const deployment = (labels: Record<string, string> = { [PROCESS_LABEL]: 'web' }, conditions?: V1DeploymentCondition[]): V1Deployment => ({
  metadata: { name: 'web', labels, creationTimestamp: at(0) },
  ...(conditions === undefined ? {} : { status: { conditions } }),
});

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
const ended = (p: V1Pod) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

const arbContainer: fc.Arbitrary<V1ContainerStatus> = fc
  .record({
    state: fc.oneof(
      fc.constant({ running: { startedAt: at(1) } }),
      fc
        .constantFrom('ContainerCreating', 'ErrImagePull', 'CrashLoopBackOff', 'CreateContainerConfigError')
        .map((reason) => ({ waiting: { reason } })),
      fc.constant({ terminated: { exitCode: 1, startedAt: at(2), finishedAt: at(3) } }),
    ),
    started: fc.option(fc.boolean(), { nil: undefined }),
    ready: fc.boolean(),
    restartCount: fc.nat(3),
  })
  .map(({ state, started, ready, restartCount }) =>
    container(state, { ready, restartCount, ...(started === undefined ? {} : { started }) }),
  );

const arbPodOptions: fc.Arbitrary<PodOptions> = fc.record({
  created: fc.nat(100),
  deleting: fc.boolean(),
  phase: fc.constantFrom(...PHASES),
  containers: fc.array(arbContainer, { maxLength: 3 }),
});
const arbPod = arbPodOptions.map((o) => pod('web-0', o));
const arbPods = fc.array(arbPodOptions, { maxLength: 6 }).map((all) => all.map((o, i) => pod(`web-${i}`, o)));
const createdAt = (p: V1Pod) => p.metadata?.creationTimestamp?.getTime() ?? 0;

describe('currentPod', () => {
  it('is never a pod being deleted, and is none only when every pod is being deleted', () => {
    fc.assert(
      fc.property(arbPods, (pods) => {
        const chosen = currentPod(pods);
        const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
        if (live.length === 0) assert.equal(chosen, undefined);
        else assert.ok(chosen !== undefined && chosen.metadata?.deletionTimestamp === undefined);
      }),
    );
  });

  it('prefers a pod that has not ended, then the newest', () => {
    fc.assert(
      fc.property(arbPods, (pods) => {
        const chosen = currentPod(pods);
        if (chosen === undefined) return;
        const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
        const rivals = live.filter((p) => ended(p) === ended(chosen));
        if (ended(chosen)) assert.ok(live.every(ended), 'an ended pod only when no live pod is still going');
        assert.equal(createdAt(chosen), Math.max(...rivals.map(createdAt)));
      }),
    );
  });

  it('does not take the terminating pod of a stopped process for its newer namesake', () => {
    const old = pod('old', { created: 50, deleting: true });
    const fresh = pod('fresh', { created: 10, phase: 'Pending', containers: [waiting('ContainerCreating')] });
    assert.equal(currentPod([old, fresh])?.metadata?.name, 'fresh');
  });
});

describe('processStatus', () => {
  it('is RUNNING only when the pod runs and every container is started, ready and running', () => {
    fc.assert(
      fc.property(arbPod, (p) => {
        const { status } = processStatus(deployment(), p);
        const containers = p.status?.containerStatuses ?? [];
        const allUp = containers.length > 0 && containers.every((c) => c.started === true && c.ready && c.state?.running !== undefined);
        assert.equal(status === 'RUNNING', p.status?.phase === 'Running' && allUp);
      }),
    );
  });

  it('is FAILED for an ended pod, whatever its containers say', () => {
    fc.assert(
      fc.property(arbPod, (p) => {
        fc.pre(ended(p));
        const result = processStatus(deployment(), p);
        assert.equal(result.status, 'FAILED');
        assert.match(result.reason ?? '', new RegExp(`^pod ${p.status!.phase}`));
      }),
    );
  });

  it("gives the kubelet's reason for a container that will not start by waiting", () => {
    assert.deepEqual(
      processStatus(deployment(), pod('p', { containers: [waiting('ImagePullBackOff', 'Back-off pulling image "nope"')] })),
      {
        status: 'FAILED',
        reason: 'ImagePullBackOff: Back-off pulling image "nope"',
      },
    );
    const crashing = container(
      { waiting: { reason: 'CrashLoopBackOff' } },
      { restartCount: 2, lastState: { terminated: { exitCode: 3, reason: 'Error' } } },
    );
    assert.deepEqual(processStatus(deployment(), pod('p', { containers: [crashing] })), {
      status: 'FAILED',
      reason: 'CrashLoopBackOff: the container exited with code 3 (Error) and was restarted 2 times',
    });
  });

  it("is STARTING with the scheduler's reason while the pod cannot be scheduled, and without a reason while the container is created", () => {
    const unschedulable = pod('p', {
      phase: 'Pending',
      containers: [],
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }],
    });
    assert.deepEqual(processStatus(deployment(), unschedulable), { status: 'STARTING', reason: 'Unschedulable: 0/1 nodes are available' });
    assert.deepEqual(processStatus(deployment(), pod('p', { phase: 'Pending', containers: [waiting('ContainerCreating')] })), {
      status: 'STARTING',
    });
  });

  it('without a pod: STARTING, or FAILED when the Deployment cannot make one', () => {
    assert.deepEqual(processStatus(deployment(), undefined), { status: 'STARTING' });
    const refused = deployment(undefined, [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'quota exceeded' }]);
    assert.deepEqual(processStatus(refused, undefined), { status: 'FAILED', reason: 'FailedCreate: quota exceeded' });
  });
});

describe('socketAddresses', () => {
  const service = (type: string, ports: Array<{ port: number; nodePort?: number }>, clusterIP = '10.0.0.7'): V1Service => ({
    spec: { type, clusterIP, ports },
  });
  const node = (name: string, addresses: Array<{ type: string; address: string }>): [string, V1Node] => [
    name,
    { metadata: { name }, status: { addresses } },
  ];

  it("places a private process at the Service's cluster IP and ports", () => {
    const s = service('ClusterIP', [{ port: 80 }, { port: 443 }]);
    assert.equal(isPublic(s), false);
    assert.deepEqual(socketAddresses(s, undefined, new Map()), [
      { host: '10.0.0.7', port: 80, is_public: false },
      { host: '10.0.0.7', port: 443, is_public: false },
    ]);
    assert.deepEqual(socketAddresses(service('ClusterIP', [{ port: 80 }], 'None'), undefined, new Map()), []);
  });

  it("places a public process at its node's external IP, else its internal IP, else the pod's hostIP; nowhere before it has a node", () => {
    const s = service('NodePort', [{ port: 80, nodePort: 30080 }]);
    const running = pod('p', { node: 'n1' });
    const nodes = new Map([
      node('n1', [
        { type: 'InternalIP', address: '192.168.0.2' },
        { type: 'ExternalIP', address: '203.0.113.9' },
      ]),
    ]);
    assert.deepEqual(socketAddresses(s, running, nodes), [{ host: '203.0.113.9', port: 30080, is_public: true }]);
    const internal = new Map([node('n1', [{ type: 'InternalIP', address: '192.168.0.2' }])]);
    assert.deepEqual(socketAddresses(s, running, internal), [{ host: '192.168.0.2', port: 30080, is_public: true }]);
    const unlisted = pod('p', { node: 'n1', hostIP: '192.168.0.3' });
    assert.deepEqual(socketAddresses(s, unlisted, new Map()), [{ host: '192.168.0.3', port: 30080, is_public: true }]);
    assert.deepEqual(socketAddresses(s, pod('p'), nodes), []);
  });
});

describe('processInfo', () => {
  it('names the process and group from the labels, dates it by the Deployment, and speaks of the current pod', () => {
    const info = processInfo(
      {
        deployment: deployment({ [PROCESS_LABEL]: 'web', [GROUP_LABEL]: 'g' }),
        pods: [
          pod('old', { created: 1, deleting: true }),
          pod('new', { created: 2, phase: 'Pending', containers: [waiting('ContainerCreating')] }),
        ],
        service: undefined,
      },
      new Map(),
    );
    assert.deepEqual(info, { process_name: 'web', group: 'g', socket_addresses: [], created: at(0).toISOString(), status: 'STARTING' });
    assert.equal(Object.hasOwn(info, 'reason'), false, 'no reason key when there is no reason');
  });

  it('has a status for any pods, RUNNING only when the current pod is', () => {
    fc.assert(
      fc.property(arbPods, (pods) => {
        const info = processInfo({ deployment: deployment(), pods, service: undefined }, new Map());
        assert.equal(info.process_name, 'web');
        assert.equal(info.group, null);
        const expected = processStatus(deployment(), currentPod(pods));
        assert.equal(info.status, expected.status);
        assert.equal(info.reason, expected.reason);
      }),
    );
  });
});

describe('image, started and finished', () => {
  const IMAGE = 'registry.example/app:1.2';
  const withTemplate = (image: string | undefined): V1Deployment => ({
    metadata: { name: 'web', labels: { [PROCESS_LABEL]: 'web' }, creationTimestamp: at(0) },
    spec: {
      selector: {},
      template: { spec: { containers: [{ name: 'web', ...(image === undefined ? {} : { image }) }] } },
    },
  });

  it("names the pod template's image, even before there is a pod", () => {
    const info = processInfo({ deployment: withTemplate(IMAGE), pods: [], service: undefined }, new Map());
    assert.equal(info.image, IMAGE);
    assert.equal(Object.hasOwn(info, 'started'), false);
    assert.equal(Object.hasOwn(info, 'finished'), false);
  });

  it('a running container: when it started, no end', () => {
    const info = processInfo({ deployment: withTemplate(IMAGE), pods: [pod('p', { containers: [up()] })], service: undefined }, new Map());
    assert.equal(info.status, 'RUNNING');
    assert.equal(info.started, at(1).toISOString());
    assert.equal(Object.hasOwn(info, 'finished'), false);
  });

  it('an ended pod: its container started and finished', () => {
    const done = container({ terminated: { exitCode: 0, startedAt: at(5), finishedAt: at(65) } });
    const info = processInfo(
      { deployment: withTemplate(IMAGE), pods: [pod('p', { phase: 'Succeeded', containers: [done] })], service: undefined },
      new Map(),
    );
    assert.equal(info.status, 'FAILED');
    assert.equal(info.started, at(5).toISOString());
    assert.equal(info.finished, at(65).toISOString());
  });

  it('no template image, no container status, a waiting container: nothing invented', () => {
    const pending = pod('p', { phase: 'Pending', containers: [waiting('ContainerCreating')] });
    const info = processInfo({ deployment: withTemplate(undefined), pods: [pending], service: undefined }, new Map());
    assert.deepEqual(
      ['image', 'started', 'finished'].filter((key) => Object.hasOwn(info, key)),
      [],
    );
    assert.deepEqual(containerTimes(deployment(), pod('q', { containers: [] }), 'STARTING'), {});
  });

  it('for any pods: finished only once started and EXITED or FAILED, and never before started', () => {
    fc.assert(
      fc.property(arbPods, fc.constantFrom<ProcessInfo['status']>('STARTING', 'RUNNING', 'EXITED', 'FAILED'), (pods, status) => {
        const times = containerTimes(withTemplate(IMAGE), currentPod(pods), status);
        assert.equal(times.image, IMAGE);
        if (times.finished !== undefined) {
          assert.ok(times.started !== undefined);
          assert.ok(status === 'EXITED' || status === 'FAILED');
        }
      }),
    );
  });
});
