// Watch events on a process's Deployment and pods -> the process events they are. Deterministic
// and without I/O: the feed (kubernetes-runtime.ts) hands in each change in the order its watches
// deliver it, with the time it arrived, and gets back what to tell. A process's status is worked
// out by process-status.ts from the same objects that GET /process reads, so an event's status is
// what GET /process says at that moment.
//
// What each type means on Kubernetes:
//   created  the Deployment was added (status STARTING: no pod runs yet).
//   running  the current pod (process-status.ts's currentPod) is Running with every container
//            started and ready; again after each restart of its container, or for a new pod.
//   exited   a container of the current pod terminated (exit_code, reason: Completed, Error,
//            OOMKilled, ...). The Deployment restarts it, so the status is what GET says then,
//            usually STARTING.
//   failed   GET /process would say FAILED: an image that cannot be pulled, a crash loop, a
//            container that cannot be created, a pod that ended, a ReplicaFailure.
//   stopped  the Deployment was deleted (by Hydroplane or anyone), or its deletion began (a
//            deletionTimestamp, for a foreground deletion). Status REMOVED once the Deployment is
//            gone, since GET /process answers 404 from then on.
//   removed  after stopped, the last pod of the process is gone too: nothing of it runs.
// A transition is told once: each one has a key (the pod, its container's restart count, the
// waiting reason) and a change whose key is the last one told (a status update, a second pod that
// is not the current one, a label edit) tells nothing.
import type { V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { GROUP_LABEL, PROCESS_LABEL } from '../../labels.ts';
import type { ProcessEvent } from '../../spec/process-event.ts';
import { currentPod, processStatus } from './process-status.ts';

/** One change as a watch delivers it, its object already read into client-node's model. */
export type WatchChange =
  | { kind: 'Deployment'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: V1Deployment }
  | { kind: 'Pod'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: V1Pod };

interface ProcessTrack {
  group: string | null;
  deployment: V1Deployment | undefined;
  /** Set when this feed saw the Deployment deleted (and not created again since). */
  deploymentGone: boolean;
  /** The process's pods that exist, by uid. */
  pods: Map<string, V1Pod>;
  /** The key of the last transition told. */
  last: string | undefined;
  /** The uid of the Deployment whose stop was told. */
  stoppedUid: string | undefined;
  /** Whether the feed knows all the process's pods: it listed them, or saw its Deployment added. */
  complete: boolean;
}

/** What a feed knows of each process: the latest objects and what it has told. */
export class ProcessEventState {
  readonly processes = new Map<string, ProcessTrack>();
  /**
   * A feed that resumes after a cursor starts knowing nothing (a list would show now, not the
   * cursor's moment): a process whose Deployment it has not seen yet is taken to have one, so that
   * its pods' changes are told.
   */
  resuming: boolean;

  constructor(options: { resuming?: boolean } = {}) {
    this.resuming = options.resuming ?? false;
  }

  track(name: string): ProcessTrack {
    let track = this.processes.get(name);
    if (!track) {
      track = {
        group: null,
        deployment: undefined,
        deploymentGone: false,
        pods: new Map(),
        last: undefined,
        stoppedUid: undefined,
        complete: !this.resuming,
      };
      this.processes.set(name, track);
    }
    return track;
  }
}

/**
 * The process a Deployment is: its process label, when that is also its name (kubernetes-runtime's
 * rule: one labelled for a process but named otherwise is nobody's).
 */
function processOfDeployment(d: V1Deployment): string | undefined {
  const name = d.metadata?.labels?.[PROCESS_LABEL];
  return name !== undefined && d.metadata?.name === name ? name : undefined;
}

const iso = (time: Date | string | undefined): string | undefined => {
  if (time === undefined) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

const uidOf = (o: { metadata?: { uid?: string; name?: string } }): string => o.metadata?.uid ?? o.metadata?.name ?? '';

/** The container whose state speaks for the pod: the first that has terminated, else the first. */
function mainContainer(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((c) => c.state?.terminated !== undefined) ?? statuses[0];
}

/** The latest lastTransitionTime of some conditions. */
function latestTransition(conditions: ReadonlyArray<{ lastTransitionTime?: Date | string }> | undefined): string | undefined {
  const times = (conditions ?? []).flatMap((c) => iso(c.lastTransitionTime) ?? []);
  return times.sort().at(-1);
}

/**
 * When a process failed, as its objects say it (so that a replay tells the same time): a crash's
 * end, else the latest change of the pod's conditions (it went not-ready), else the Deployment's.
 */
function failedAt(deployment: V1Deployment, pod: V1Pod | undefined): string | undefined {
  if (!pod) return latestTransition(deployment.status?.conditions);
  const crashed = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
  return iso(crashed?.lastState?.terminated?.finishedAt) ?? latestTransition(pod.status?.conditions);
}

/** When a pod went, as it says: the deletionTimestamp its graceful deletion set. */
const podGoneAt = (pod: V1Pod): string | undefined => iso(pod.metadata?.deletionTimestamp);

/** The transition that the process's objects show now, with its key; none for a plain STARTING. */
function currentTransition(
  deployment: V1Deployment | undefined,
  track: ProcessTrack,
  now: Date,
): { key: string; event: Omit<ProcessEvent, 'process_name' | 'group'> } | undefined {
  if (!deployment) return undefined;
  const pod = currentPod([...track.pods.values()]);
  const { status, reason } = processStatus(deployment, pod);
  const at = now.toISOString();
  if (status === 'RUNNING' && pod) {
    const c = mainContainer(pod);
    return {
      key: `running:${uidOf(pod)}:${c?.restartCount ?? 0}`,
      event: { type: 'running', status, time: iso(c?.state?.running?.startedAt) ?? at },
    };
  }
  if (status === 'FAILED') {
    const why = pod
      ? `${uidOf(pod)}:${pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded' ? pod.status.phase : (pod.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason ?? '')}`
      : `deployment:${uidOf(deployment)}`;
    return {
      key: `failed:${why}`,
      event: { type: 'failed', status, time: failedAt(deployment, pod) ?? at, ...(reason === undefined ? {} : { reason }) },
    };
  }
  const terminated = pod ? mainContainer(pod) : undefined;
  const end = terminated?.state?.terminated;
  if (pod && terminated && end) {
    return {
      key: `exited:${uidOf(pod)}:${terminated.restartCount ?? 0}:${end.containerID ?? iso(end.finishedAt) ?? ''}`,
      event: {
        type: 'exited',
        status,
        time: iso(end.finishedAt) ?? at,
        exit_code: end.exitCode,
        ...(end.reason ? { reason: end.reason } : {}),
      },
    };
  }
  return undefined;
}

/**
 * Records the objects a feed starts from (a list at the version its watches start from): what
 * they show is the state the feed starts in, and is not told.
 */
export function seedState(state: ProcessEventState, deployments: readonly V1Deployment[], pods: readonly V1Pod[], now: Date): void {
  for (const d of deployments) {
    const name = processOfDeployment(d);
    if (name === undefined) continue;
    const track = state.track(name);
    track.deployment = d;
    track.complete = true;
    track.group = d.metadata?.labels?.[GROUP_LABEL] ?? null;
    if (d.metadata?.deletionTimestamp) track.stoppedUid = uidOf(d);
  }
  for (const p of pods) {
    const name = p.metadata?.labels?.[PROCESS_LABEL];
    if (name === undefined) continue;
    const track = state.track(name);
    track.pods.set(uidOf(p), p);
    track.complete = true;
  }
  for (const track of state.processes.values()) track.last = currentTransition(track.deployment, track, now)?.key;
}

/** The events that one change is, in order (a Deployment deleted with no pod left is stopped, then removed). */
export function eventsOf(state: ProcessEventState, change: WatchChange, now: Date): ProcessEvent[] {
  const at = now.toISOString();
  if (change.kind === 'Deployment') {
    const d = change.object;
    const name = processOfDeployment(d);
    if (name === undefined) return [];
    const track = state.track(name);
    track.group = d.metadata?.labels?.[GROUP_LABEL] ?? track.group;
    const tell = (e: Omit<ProcessEvent, 'process_name' | 'group'>): ProcessEvent => ({ process_name: name, group: track.group, ...e });
    const known = track.deployment !== undefined && uidOf(track.deployment) === uidOf(d);
    if (change.type === 'DELETED') {
      if (track.deployment !== undefined && !known) return []; // an older one's deletion, already replaced
      track.deployment = undefined;
      track.deploymentGone = true;
      track.last = undefined;
      const out: ProcessEvent[] = [];
      if (track.stoppedUid !== uidOf(d)) {
        track.stoppedUid = uidOf(d);
        out.push(tell({ type: 'stopped', status: 'REMOVED', time: iso(d.metadata?.deletionTimestamp) ?? at }));
      }
      // A resuming feed that has seen none of the pods cannot tell that there are none: it waits for one's deletion.
      if (track.pods.size === 0 && track.complete) {
        out.push(tell({ type: 'removed', status: 'REMOVED', time: at }));
        state.processes.delete(name);
      }
      return out;
    }
    track.deployment = d;
    track.deploymentGone = false;
    const out: ProcessEvent[] = [];
    if (!known && change.type === 'ADDED') {
      track.complete = true;
      const { status } = processStatus(d, currentPod([...track.pods.values()]));
      track.last = `created:${uidOf(d)}`;
      out.push(tell({ type: 'created', status, time: iso(d.metadata?.creationTimestamp) ?? at }));
    }
    if (d.metadata?.deletionTimestamp && track.stoppedUid !== uidOf(d)) {
      track.stoppedUid = uidOf(d);
      const { status } = processStatus(d, currentPod([...track.pods.values()]));
      out.push(tell({ type: 'stopped', status, time: iso(d.metadata.deletionTimestamp) ?? at }));
      return out;
    }
    if (track.stoppedUid === uidOf(d)) return out;
    return [...out, ...transitionEvents(name, d, track, now)];
  }

  const pod = change.object;
  const name = pod.metadata?.labels?.[PROCESS_LABEL];
  if (name === undefined) return [];
  const track = state.track(name);
  // The pod template carries the group label too: a resuming feed may see pods before their Deployment.
  track.group = pod.metadata?.labels?.[GROUP_LABEL] ?? track.group;
  if (change.type === 'DELETED') track.pods.delete(uidOf(pod));
  else track.pods.set(uidOf(pod), pod);
  if (track.deploymentGone) {
    if (track.pods.size > 0) return [];
    state.processes.delete(name);
    return [{ process_name: name, group: track.group, type: 'removed', status: 'REMOVED', time: podGoneAt(pod) ?? at }];
  }
  const deployment = track.deployment ?? (state.resuming ? UNSEEN : undefined);
  if (deployment === undefined) {
    // Pods before their Deployment's ADDED (the two watches are not in step): told once it comes.
    if (track.pods.size === 0) state.processes.delete(name);
    return [];
  }
  if (track.stoppedUid !== undefined && track.stoppedUid === uidOf(deployment)) return [];
  return transitionEvents(name, deployment, track, now);
}

/** Stands for a Deployment that a resuming feed has not seen: with a pod, the status is the pod's. */
const UNSEEN: V1Deployment = {};

function transitionEvents(name: string, deployment: V1Deployment, track: ProcessTrack, now: Date): ProcessEvent[] {
  const next = currentTransition(deployment, track, now);
  if (next === undefined || next.key === track.last) return [];
  track.last = next.key;
  return [{ process_name: name, group: track.group, ...next.event }];
}

/**
 * After a watch's version expired (410 Gone): the objects listed now replace what the feed knew,
 * and the events say the difference, as far as the objects still show it. A Deployment the feed
 * did not know is created (at its creation time) and then in its current transition; a known one
 * whose transition changed is told in it; one that is no longer listed is stopped, and removed if
 * no pod of it is listed either. What began and ended inside the gap is lost.
 */
export function resyncEvents(
  state: ProcessEventState,
  deployments: readonly V1Deployment[],
  pods: readonly V1Pod[],
  now: Date,
): ProcessEvent[] {
  const fresh = new ProcessEventState();
  seedState(fresh, deployments, pods, now);
  const at = now.toISOString();
  const out: ProcessEvent[] = [];
  for (const [name, track] of fresh.processes) {
    const old = state.processes.get(name);
    const tell = (e: Omit<ProcessEvent, 'process_name' | 'group'>) => out.push({ process_name: name, group: track.group, ...e });
    const d = track.deployment;
    if (d === undefined) {
      // Pods whose Deployment is gone: stopped, if the feed had not said so.
      if (old?.deployment !== undefined && old.stoppedUid !== uidOf(old.deployment)) tell({ type: 'stopped', status: 'REMOVED', time: at });
      track.deploymentGone = true;
      track.stoppedUid = old?.deployment ? uidOf(old.deployment) : old?.stoppedUid;
      continue;
    }
    const isNew = old?.deployment === undefined || uidOf(old.deployment) !== uidOf(d);
    if (isNew) {
      if (old?.deployment !== undefined && old.stoppedUid !== uidOf(old.deployment)) tell({ type: 'stopped', status: 'REMOVED', time: at });
      // Told at its creation time, with the status it had then; its current transition follows.
      tell({ type: 'created', status: 'STARTING', time: iso(d.metadata?.creationTimestamp) ?? at });
    }
    if (d.metadata?.deletionTimestamp) {
      if (old?.stoppedUid !== uidOf(d))
        tell({
          type: 'stopped',
          status: processStatus(d, currentPod([...track.pods.values()])).status,
          time: iso(d.metadata.deletionTimestamp) ?? at,
        });
      track.stoppedUid = uidOf(d);
      continue;
    }
    const next = currentTransition(d, track, now);
    if (next !== undefined && (isNew || next.key !== old?.last)) tell(next.event);
    track.last = next?.key ?? (isNew ? `created:${uidOf(d)}` : old?.last);
  }
  for (const [name, old] of state.processes) {
    if (fresh.processes.has(name)) continue;
    const tell = (e: Omit<ProcessEvent, 'process_name' | 'group'>) => out.push({ process_name: name, group: old.group, ...e });
    if (old.deployment !== undefined && old.stoppedUid !== uidOf(old.deployment)) tell({ type: 'stopped', status: 'REMOVED', time: at });
    if (old.deployment !== undefined || old.deploymentGone) tell({ type: 'removed', status: 'REMOVED', time: at });
  }
  state.processes.clear();
  for (const [name, track] of fresh.processes) state.processes.set(name, track);
  state.resuming = false;
  return out;
}
