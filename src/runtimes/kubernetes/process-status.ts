// What a process's Kubernetes objects say about it: its status, why it is not running, and where
// to reach it. Pure: the runtime fetches the objects, in a constant number of calls.
import type { V1ContainerStatus, V1Deployment, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { GROUP_LABEL, PROCESS_LABEL } from '../../labels.ts';
import type { ProcessInfo, SocketAddress } from '../../spec/process-info.ts';
import { recordedFields } from '../start-record.ts';
import { DEPLOYMENT_RECORD_KEYS } from './manifests.ts';

/** Container waiting reasons that do not clear up by waiting. */
const FAILING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

export interface ProcessObjects {
  deployment: V1Deployment;
  /** The pods carrying the process's label, in any state. */
  pods: readonly V1Pod[];
  service: V1Service | undefined;
}

export function isPublic(service: V1Service | undefined): boolean {
  return service?.spec?.type === 'NodePort' || service?.spec?.type === 'LoadBalancer';
}

/**
 * The pod that speaks for the process, in its status and its logs alike: not being deleted (a
 * stopped process's pods linger while they terminate, and a restarted process of the same name
 * may meet them), one that has not ended before one that has, then the newest. None when every
 * pod is being deleted.
 */
export function currentPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const time = (p: V1Pod) => p.metadata?.creationTimestamp?.getTime() ?? 0;
  const rank = (p: V1Pod) => (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded' ? 1 : 0);
  return [...live].sort((a, b) => rank(a) - rank(b) || time(b) - time(a))[0];
}

function describeWaiting(c: V1ContainerStatus): string {
  const waiting = c.state?.waiting;
  const reason = waiting?.reason ?? 'Waiting';
  const terminated = c.lastState?.terminated;
  if (reason === 'CrashLoopBackOff' && terminated) {
    const restarts = c.restartCount ?? 0;
    return `CrashLoopBackOff: the container exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''} and was restarted ${restarts} time${restarts === 1 ? '' : 's'}`;
  }
  return waiting?.message ? `${reason}: ${waiting.message}` : reason;
}

export function processStatus(deployment: V1Deployment, pod: V1Pod | undefined): Pick<ProcessInfo, 'status' | 'reason'> {
  if (!pod) {
    const failure = deployment.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (failure) return { status: 'FAILED', reason: `${failure.reason ?? 'ReplicaFailure'}: ${failure.message ?? ''}`.trim() };
    return { status: 'STARTING' };
  }
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return {
      status: 'FAILED',
      reason: `pod ${phase}${pod.status?.reason ? `: ${pod.status.reason}` : ''}${pod.status?.message ? `: ${pod.status.message}` : ''}`,
    };
  }
  const containers = pod.status?.containerStatuses ?? [];
  const failing = containers.find((c) => FAILING.has(c.state?.waiting?.reason ?? ''));
  if (failing) return { status: 'FAILED', reason: describeWaiting(failing) };
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable)
    return { status: 'STARTING', reason: `${unschedulable.reason ?? 'Unschedulable'}: ${unschedulable.message ?? ''}`.trim() };
  const allUp = containers.length > 0 && containers.every((c) => c.started === true && c.ready && c.state?.running !== undefined);
  if (phase === 'Running' && allUp) return { status: 'RUNNING' };
  const waiting = containers.find((c) => c.state?.waiting?.reason !== undefined && c.state.waiting.reason !== 'ContainerCreating');
  return waiting ? { status: 'STARTING', reason: describeWaiting(waiting) } : { status: 'STARTING' };
}

function nodeAddress(node: V1Node | undefined): string | undefined {
  const addresses = node?.status?.addresses ?? [];
  return addresses.find((a) => a.type === 'ExternalIP')?.address ?? addresses.find((a) => a.type === 'InternalIP')?.address;
}

/**
 * Private: the Service's cluster IP and ports. Public: the node that runs the pod, at its external
 * IP (else its internal IP) and the node ports. None before the pod has a node.
 */
export function socketAddresses(
  service: V1Service | undefined,
  pod: V1Pod | undefined,
  nodes: ReadonlyMap<string, V1Node>,
): SocketAddress[] {
  const ports = service?.spec?.ports ?? [];
  if (ports.length === 0) return [];
  if (isPublic(service)) {
    const nodeName = pod?.spec?.nodeName;
    const host = nodeName === undefined ? undefined : (nodeAddress(nodes.get(nodeName)) ?? pod?.status?.hostIP);
    if (host === undefined) return [];
    return ports.filter((p) => p.nodePort !== undefined).map((p) => ({ host, port: p.nodePort!, is_public: true }));
  }
  const ip = service?.spec?.clusterIP;
  if (ip === undefined || ip === '' || ip === 'None') return [];
  return ports.map((p) => ({ host: ip, port: p.port, is_public: false }));
}

const iso = (time: Date | string | undefined): string | undefined => {
  if (time === undefined) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

/**
 * The image of the process's container (the first of the pod template's, as the manifest makes
 * one) and, from the current pod's status of that container, when it last started and, once it
 * has ended and the process is EXITED or FAILED, when it ended.
 */
export function containerTimes(
  deployment: V1Deployment,
  pod: V1Pod | undefined,
  status: ProcessInfo['status'],
): Pick<ProcessInfo, 'image' | 'started' | 'finished'> {
  const container = deployment.spec?.template?.spec?.containers?.[0];
  const out: Pick<ProcessInfo, 'image' | 'started' | 'finished'> = {};
  if (container?.image) out.image = container.image;
  const statuses = pod?.status?.containerStatuses ?? [];
  const state = (statuses.find((c) => c.name === container?.name) ?? statuses[0])?.state;
  const started = iso(state?.running?.startedAt ?? state?.terminated?.startedAt);
  if (started) out.started = started;
  const finished = iso(state?.terminated?.finishedAt);
  if (started && finished && (status === 'EXITED' || status === 'FAILED')) out.finished = finished;
  return out;
}

export function processInfo(objects: ProcessObjects, nodes: ReadonlyMap<string, V1Node>): ProcessInfo {
  const { deployment, service } = objects;
  const labels = deployment.metadata?.labels ?? {};
  const pod = currentPod(objects.pods);
  const created = deployment.metadata?.creationTimestamp;
  const info: ProcessInfo = {
    process_name: labels[PROCESS_LABEL] ?? deployment.metadata?.name ?? '',
    group: labels[GROUP_LABEL] ?? null,
    socket_addresses: socketAddresses(service, pod, nodes),
    created: (created instanceof Date ? created : new Date(created ?? 0)).toISOString(),
    ...processStatus(deployment, pod),
  };
  if (info.reason === undefined) delete info.reason;
  return {
    ...info,
    ...containerTimes(deployment, pod, info.status),
    ...recordedFields(deployment.metadata?.annotations, DEPLOYMENT_RECORD_KEYS),
  };
}
