// What the control plane and the kubelets do after a write: the Deployment and ReplicaSet
// controllers, the scheduler, and a kubelet that "runs" containers after a delay, or fails them
// the way the tests ask (image pulls, crash loops) or the way a kubelet would (missing Secrets).
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError } from './status.ts';
import { randomSuffix, templateHash, type Registry } from './registry.ts';
import { resourceOfKind, timestamp, type KubeObject, type OwnerReference } from './resources.ts';
import { matchesLabels } from './selectors.ts';
import type { Scheduler, Store, StoreEvent } from './store.ts';

type Json = any;

export interface NodeSpec {
  name: string;
  internalIP?: string;
  externalIP?: string;
  labels?: Record<string, string>;
  /** Default true; pods are not scheduled on a node that is not Ready. */
  ready?: boolean;
}

/** Which pods a failure applies to: those of a Deployment, or those running an image. */
export type PodMatch = { deployment: string; namespace?: string } | { image: string };

export type PodFailure =
  | { reason: 'ErrImagePull' | 'ImagePullBackOff' | 'InvalidImageName' | 'CreateContainerConfigError' | (string & {}); message?: string }
  | { reason: 'CrashLoopBackOff'; exitCode: number; restarts?: number; message?: string }
  /** The container ran and ended by itself: it stays terminated (the kubelet's restart is not simulated). */
  | { reason: 'Exited'; exitCode: number; message?: string };

const DEPLOYMENTS = resourceOfKind('Deployment');
const REPLICASETS = resourceOfKind('ReplicaSet');
const PODS = resourceOfKind('Pod');
const NODES = resourceOfKind('Node');
const SECRETS = resourceOfKind('Secret');

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

const ownedBy = (o: KubeObject, uid: string) => o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller) ?? false;
const isReady = (pod: KubeObject) => pod.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True') ?? false;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function nodeObject(spec: NodeSpec, index: number): Json {
  const addresses: Json[] = [{ type: 'InternalIP', address: spec.internalIP ?? `10.0.0.${11 + index}` }];
  if (spec.externalIP) addresses.push({ type: 'ExternalIP', address: spec.externalIP });
  addresses.push({ type: 'Hostname', address: spec.name });
  const ready = spec.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...spec.labels },
    },
    spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
    status: {
      addresses,
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          message: ready ? 'kubelet is posting ready status' : 'container runtime network not ready',
          lastHeartbeatTime: timestamp(),
          lastTransitionTime: timestamp(),
        },
      ],
      nodeInfo: {
        machineID: hex(16),
        systemUUID: randomUUID(),
        bootID: randomUUID(),
        kernelVersion: '6.8.0-1015-aws',
        osImage: 'Ubuntu 24.04 LTS',
        containerRuntimeVersion: 'containerd://1.7.20',
        kubeletVersion: 'v1.31.0',
        kubeProxyVersion: 'v1.31.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

export class Controllers {
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly scheduler: Scheduler;
  private readonly queued = new Set<string>();
  private readonly failures: Array<{ match: PodMatch; failure: PodFailure }> = [];
  private nextPodIp = 2;
  podStartDelayMs: number;

  constructor(store: Store, registry: Registry, scheduler: Scheduler, podStartDelayMs: number) {
    this.store = store;
    this.registry = registry;
    this.scheduler = scheduler;
    this.podStartDelayMs = podStartDelayMs;
    store.onChange((e) => this.onChange(e));
  }

  private onChange(e: StoreEvent): void {
    const { namespace, name } = e.object.metadata;
    switch (e.res.kind) {
      case 'Deployment':
        this.enqueue(`deployment/${namespace}/${name}`, () => this.syncDeployment(namespace!, name));
        break;
      case 'ReplicaSet':
        this.enqueue(`replicaset/${namespace}/${name}`, () => this.syncReplicaSet(namespace!, name));
        this.enqueueOwner(e.object);
        break;
      case 'Pod':
        if (e.type === 'ADDED' && !e.object.spec?.nodeName)
          this.enqueue(`schedule/${namespace}/${name}`, () => this.schedule(namespace!, name));
        this.enqueueOwner(e.object);
        break;
      case 'Node':
        for (const pod of this.store.list(PODS)) {
          if (!pod.spec?.nodeName && !pod.metadata.deletionTimestamp) {
            this.enqueue(`schedule/${pod.metadata.namespace}/${pod.metadata.name}`, () =>
              this.schedule(pod.metadata.namespace!, pod.metadata.name),
            );
          }
        }
        break;
      case 'Secret':
        // The kubelet retries containers that waited for a Secret.
        if (e.type === 'DELETED') break;
        for (const pod of this.store.list(PODS, namespace)) {
          const waiting = pod.status?.containerStatuses?.some((c: Json) => c.state?.waiting?.reason === 'CreateContainerConfigError');
          if (waiting)
            this.enqueue(`run/${namespace}/${pod.metadata.name}`, () => this.run(namespace!, pod.metadata.name, pod.metadata.uid));
        }
        break;
    }
  }

  private enqueueOwner(obj: KubeObject): void {
    const ref = obj.metadata.ownerReferences?.find((r) => r.controller);
    if (!ref) return;
    const ns = obj.metadata.namespace!;
    if (ref.kind === 'ReplicaSet') this.enqueue(`replicaset/${ns}/${ref.name}`, () => this.syncReplicaSet(ns, ref.name));
    if (ref.kind === 'Deployment') this.enqueue(`deployment/${ns}/${ref.name}`, () => this.syncDeployment(ns, ref.name));
  }

  private enqueue(key: string, work: () => void): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.scheduler.after(0, () => {
      this.queued.delete(key);
      try {
        work();
      } catch (err) {
        // A controller's write can lose a race with a deletion; the next event retries.
        if (!(err instanceof ApiError)) throw err;
      }
    });
  }

  // ------------------------------------------------------------ Deployment controller

  private syncDeployment(ns: string, name: string): void {
    const d = this.store.get(DEPLOYMENTS, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const hash = templateHash(d.spec.template);
    const rsName = `${name}-${hash}`;
    const owned = this.store.list(REPLICASETS, ns, (rs) => ownedBy(rs, d.metadata.uid));
    const desired = d.spec.replicas ?? 1;
    let current = owned.find((rs) => rs.metadata.name === rsName);
    if (!current) {
      const revision = owned.length + 1;
      const labels = { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash };
      current = this.registry.create(REPLICASETS, ns, {
        metadata: {
          name: rsName,
          labels,
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/revision': String(revision),
          },
          ownerReferences: [controllerRef(d)],
        },
        spec: {
          replicas: desired,
          selector: { ...d.spec.selector, matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash } },
          template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
        },
      });
    } else if (current.spec.replicas !== desired) {
      current.spec.replicas = desired;
      this.store.put(REPLICASETS, current);
    }
    // The new ReplicaSet replaces the old ones at once (what Recreate does; enough here).
    for (const rs of owned) {
      if (rs.metadata.name !== rsName && rs.spec.replicas !== 0) {
        rs.spec.replicas = 0;
        this.store.put(REPLICASETS, rs);
      }
    }
    this.updateDeploymentStatus(d, current);
  }

  private updateDeploymentStatus(d: KubeObject, currentRs: KubeObject): void {
    const rsUids = new Set(
      this.store.list(REPLICASETS, d.metadata.namespace, (rs) => ownedBy(rs, d.metadata.uid)).map((rs) => rs.metadata.uid),
    );
    const pods = this.store.list(
      PODS,
      d.metadata.namespace,
      (p) => !p.metadata.deletionTimestamp && (p.metadata.ownerReferences?.some((r) => rsUids.has(r.uid)) ?? false),
    );
    const ready = pods.filter(isReady).length;
    const updated = pods.filter((p) => ownedBy(p, currentRs.metadata.uid)).length;
    const desired = d.spec.replicas ?? 1;
    const status: Json = { observedGeneration: d.metadata.generation, replicas: pods.length, updatedReplicas: updated };
    if (ready > 0) status.readyReplicas = ready;
    if (ready > 0) status.availableReplicas = ready;
    if (pods.length - ready > 0) status.unavailableReplicas = pods.length - ready;
    const available = ready >= desired;
    const progressed = updated === desired && ready >= desired;
    const conditions = [
      {
        type: 'Available',
        status: available ? 'True' : 'False',
        reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        message: available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: progressed ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        message: progressed
          ? `ReplicaSet "${currentRs.metadata.name}" has successfully progressed.`
          : `ReplicaSet "${currentRs.metadata.name}" is progressing.`,
      },
    ];
    const old = d.status ?? {};
    status.conditions = conditions.map((c) => {
      const before = (old.conditions ?? []).find((o: Json) => o.type === c.type);
      const same = before && before.status === c.status && before.reason === c.reason;
      return {
        ...c,
        lastUpdateTime: same ? before.lastUpdateTime : timestamp(),
        lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : timestamp(),
      };
    });
    if (sameJson(old, status)) return;
    d.status = status;
    this.store.put(DEPLOYMENTS, d);
  }

  // ------------------------------------------------------------ ReplicaSet controller

  private syncReplicaSet(ns: string, name: string): void {
    const rs = this.store.get(REPLICASETS, ns, name);
    if (!rs) return;
    const live = this.store.list(PODS, ns, (p) => ownedBy(p, rs.metadata.uid) && !p.metadata.deletionTimestamp);
    const desired = rs.metadata.deletionTimestamp ? live.length : (rs.spec.replicas ?? 1);
    for (let i = live.length; i < desired; i++) {
      this.registry.create(PODS, ns, {
        metadata: {
          name: `${name}-${randomSuffix()}`,
          generateName: `${name}-`,
          labels: rs.spec.template.metadata?.labels,
          annotations: rs.spec.template.metadata?.annotations,
          ownerReferences: [controllerRef(rs)],
        },
        spec: rs.spec.template.spec,
      });
    }
    for (const extra of live.slice(desired).reverse()) this.registry.delete(PODS, ns, extra.metadata.name);
    const now = this.store.list(PODS, ns, (p) => ownedBy(p, rs.metadata.uid) && !p.metadata.deletionTimestamp);
    const ready = now.filter(isReady).length;
    const status: Json = { replicas: now.length, observedGeneration: rs.metadata.generation };
    status.fullyLabeledReplicas = status.replicas;
    if (ready > 0) status.readyReplicas = ready;
    if (ready > 0) status.availableReplicas = ready;
    if (!sameJson(rs.status, status)) {
      rs.status = status;
      this.store.put(REPLICASETS, rs);
    }
    const owner = rs.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (owner) this.enqueue(`deployment/${ns}/${owner.name}`, () => this.syncDeployment(ns, owner.name));
  }

  // ------------------------------------------------------------ scheduler and kubelet

  private schedule(ns: string, name: string): void {
    const pod = this.store.get(PODS, ns, name);
    if (!pod || pod.spec.nodeName || pod.metadata.deletionTimestamp) return;
    const nodes = this.store.list(NODES);
    const selector = Object.entries((pod.spec.nodeSelector ?? {}) as Record<string, string>).map(([key, v]) => ({
      key,
      operator: '=' as const,
      values: [v],
    }));
    const readyNodes = nodes.filter((n) => n.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'));
    const fitting = readyNodes.filter((n) => matchesLabels(selector, n.metadata.labels));
    if (fitting.length === 0) {
      const why =
        nodes.length === 0
          ? '0/0 nodes are available: no nodes available to schedule pods.'
          : `0/${nodes.length} nodes are available: ` +
            [
              nodes.length - readyNodes.length > 0
                ? `${nodes.length - readyNodes.length} node(s) had untolerated taint {node.kubernetes.io/not-ready: }`
                : '',
              readyNodes.length - fitting.length > 0
                ? `${readyNodes.length - fitting.length} node(s) didn't match Pod's node affinity/selector`
                : '',
            ]
              .filter(Boolean)
              .join(', ') +
            '. preemption: 0/' +
            nodes.length +
            ' nodes are available: ' +
            nodes.length +
            ' Preemption is not helpful for scheduling.';
      const status = {
        ...pod.status,
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: why,
            lastProbeTime: null,
            lastTransitionTime: timestamp(),
          },
        ],
      };
      if (
        !sameJson(
          pod.status?.conditions?.map((c: Json) => c.message),
          status.conditions.map((c: Json) => c.message),
        )
      ) {
        pod.status = status;
        this.store.put(PODS, pod);
      }
      return;
    }
    const load = new Map(fitting.map((n) => [n.metadata.name, 0]));
    for (const p of this.store.list(PODS, undefined, (o) => o.spec?.nodeName !== undefined && load.has(o.spec.nodeName)))
      load.set(p.spec.nodeName, load.get(p.spec.nodeName)! + 1);
    const node = [...fitting].sort(
      (a, b) => load.get(a.metadata.name)! - load.get(b.metadata.name)! || (a.metadata.name < b.metadata.name ? -1 : 1),
    )[0]!;
    const hostIP = node.status.addresses.find((a: Json) => a.type === 'InternalIP')?.address;
    pod.spec.nodeName = node.metadata.name;
    const now = timestamp();
    pod.status = {
      phase: 'Pending',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        notReady(pod, 'Ready', now),
        notReady(pod, 'ContainersReady', now),
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      ],
      hostIP,
      hostIPs: hostIP ? [{ ip: hostIP }] : undefined,
      startTime: now,
      containerStatuses: waitingContainers(pod, () => ({ reason: 'ContainerCreating' })),
      qosClass: pod.status?.qosClass,
    };
    this.store.put(PODS, pod);
    const uid = pod.metadata.uid;
    this.scheduler.after(this.podStartDelayMs, () => this.run(ns, name, uid));
  }

  /** The kubelet starts the pod's containers: they run, or fail as asked or as a kubelet would. */
  private run(ns: string, name: string, uid: string): void {
    const pod = this.store.get(PODS, ns, name);
    if (!pod || pod.metadata.uid !== uid || pod.metadata.deletionTimestamp || !pod.spec.nodeName) return;
    const failure = this.failureFor(pod) ?? this.configError(pod);
    const now = timestamp();
    const podIP = pod.status.podIP ?? `10.244.${Math.floor(this.nextPodIp / 250)}.${(this.nextPodIp++ % 250) + 2}`;
    const base = { ...pod.status, podIP, podIPs: [{ ip: podIP }] };
    if (!failure) {
      pod.status = {
        ...base,
        phase: 'Running',
        conditions: pod.status.conditions.map((c: Json) => ({
          ...c,
          status: 'True',
          reason: undefined,
          message: undefined,
          lastTransitionTime: now,
        })),
        containerStatuses: pod.spec.containers.map((c: Json) => ({
          name: c.name,
          image: c.image,
          imageID: `${c.image.includes('/') ? '' : 'docker.io/library/'}${c.image.split(':')[0]}@sha256:${hex(32)}`,
          containerID: `containerd://${hex(32)}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
          lastState: {},
        })),
      };
    } else if (failure.reason === 'CrashLoopBackOff') {
      const crash = failure as Extract<PodFailure, { reason: 'CrashLoopBackOff' }>;
      pod.status = {
        ...base,
        phase: 'Running',
        conditions: pod.status.conditions.map((c: Json) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? notReady(pod, c.type, now) : { ...c, status: 'True' },
        ),
        containerStatuses: pod.spec.containers.map((c: Json) => ({
          name: c.name,
          image: c.image,
          imageID: `${c.image}@sha256:${hex(32)}`,
          containerID: `containerd://${hex(32)}`,
          ready: false,
          started: false,
          restartCount: crash.restarts ?? 3,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: crash.message ?? `back-off 40s restarting failed container=${c.name} pod=${name}_${ns}(${uid})`,
            },
          },
          lastState: {
            terminated: {
              exitCode: crash.exitCode,
              reason: crash.exitCode === 0 ? 'Completed' : 'Error',
              startedAt: now,
              finishedAt: now,
              containerID: `containerd://${hex(32)}`,
            },
          },
        })),
      };
    } else if (failure.reason === 'Exited') {
      const exit = failure as Extract<PodFailure, { reason: 'Exited' }>;
      pod.status = {
        ...base,
        phase: 'Running',
        conditions: pod.status.conditions.map((c: Json) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? notReady(pod, c.type, now) : { ...c, status: 'True' },
        ),
        containerStatuses: pod.spec.containers.map((c: Json) => ({
          name: c.name,
          image: c.image,
          imageID: `${c.image}@sha256:${hex(32)}`,
          containerID: `containerd://${hex(32)}`,
          ready: false,
          started: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode: exit.exitCode,
              reason: exit.exitCode === 0 ? 'Completed' : 'Error',
              startedAt: now,
              finishedAt: now,
              containerID: `containerd://${hex(32)}`,
            },
          },
          lastState: {},
        })),
      };
    } else {
      pod.status = {
        ...base,
        phase: 'Pending',
        conditions: pod.status.conditions.map((c: Json) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? notReady(pod, c.type, now) : c,
        ),
        containerStatuses: waitingContainers(pod, (c) => ({
          reason: failure.reason,
          message: failure.message ?? defaultMessage(failure.reason, c.image),
        })),
      };
    }
    this.store.put(PODS, pod);
  }

  private deploymentOf(pod: KubeObject): string | undefined {
    const rsRef = pod.metadata.ownerReferences?.find((r) => r.kind === 'ReplicaSet');
    if (!rsRef) return undefined;
    const rs = this.store.get(REPLICASETS, pod.metadata.namespace, rsRef.name);
    return rs?.metadata.ownerReferences?.find((r) => r.kind === 'Deployment')?.name;
  }

  private matches(match: PodMatch, pod: KubeObject): boolean {
    if ('image' in match) return pod.spec.containers.some((c: Json) => c.image === match.image);
    return (match.namespace ?? pod.metadata.namespace) === pod.metadata.namespace && this.deploymentOf(pod) === match.deployment;
  }

  private failureFor(pod: KubeObject): PodFailure | undefined {
    return this.failures.find((f) => this.matches(f.match, pod))?.failure;
  }

  /** What the kubelet says when an env var's Secret (or its key) is missing. */
  private configError(pod: KubeObject): PodFailure | undefined {
    for (const c of pod.spec.containers) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) continue;
        const secret = this.store.get(SECRETS, pod.metadata.namespace, ref.name);
        if (!secret) return { reason: 'CreateContainerConfigError', message: `secret "${ref.name}" not found` };
        if (!Object.hasOwn(secret.data ?? {}, ref.key)) {
          return {
            reason: 'CreateContainerConfigError',
            message: `couldn't find key ${ref.key} in Secret ${pod.metadata.namespace}/${ref.name}`,
          };
        }
      }
    }
    return undefined;
  }

  failPods(match: PodMatch, failure: PodFailure): void {
    this.failures.unshift({ match, failure });
    this.rerun((pod) => this.matches(match, pod));
  }

  clearPodFailures(): void {
    this.failures.length = 0;
    this.rerun(() => true);
  }

  private rerun(which: (pod: KubeObject) => boolean): void {
    for (const pod of this.store.list(PODS)) {
      const started = pod.status?.containerStatuses?.some((c: Json) => !c.state?.waiting || c.state.waiting.reason !== 'ContainerCreating');
      if (pod.spec.nodeName && started && which(pod)) {
        this.enqueue(`run/${pod.metadata.namespace}/${pod.metadata.name}`, () =>
          this.run(pod.metadata.namespace!, pod.metadata.name, pod.metadata.uid),
        );
      }
    }
  }

  setNodes(nodes: NodeSpec[]): void {
    const wanted = new Set(nodes.map((n) => n.name));
    for (const existing of this.store.list(NODES)) if (!wanted.has(existing.metadata.name)) this.store.remove(NODES, existing);
    nodes.forEach((spec, i) => {
      const obj = nodeObject(spec, i);
      const existing = this.store.get(NODES, undefined, spec.name);
      if (existing) {
        existing.metadata.labels = obj.metadata.labels;
        existing.status = obj.status;
        this.store.put(NODES, existing);
      } else {
        this.registry.create(NODES, undefined, obj);
      }
    });
  }
}

function notReady(pod: KubeObject, type: string, now: string): Json {
  const names = pod.spec.containers.map((c: Json) => c.name).join(' ');
  return {
    type,
    status: 'False',
    reason: 'ContainersNotReady',
    message: `containers with unready status: [${names}]`,
    lastProbeTime: null,
    lastTransitionTime: now,
  };
}

function defaultMessage(reason: string, image: string): string {
  switch (reason) {
    case 'ErrImagePull':
      return `failed to pull and unpack image "${image}": failed to resolve reference "${image}": pull access denied, repository does not exist or may require authorization`;
    case 'ImagePullBackOff':
      return `Back-off pulling image "${image}"`;
    case 'InvalidImageName':
      return `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`;
    default:
      return reason;
  }
}

/** The status of each of the pod's containers while it waits (to be created, or after a failure). */
function waitingContainers(pod: Json, waiting: (container: Json) => Json): Json[] {
  return pod.spec.containers.map((c: Json) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: waiting(c) },
    lastState: {},
  }));
}
