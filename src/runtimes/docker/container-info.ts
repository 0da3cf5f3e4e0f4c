// Engine container -> ProcessInfo. Pure. The list entry (GET /containers/json) and the inspect
// answer (GET /containers/{name}/json) carry the same facts in different shapes; both are brought
// to the list's shape first so that list() and get() agree.
import type Dockerode from 'dockerode';
import { GROUP_LABEL, PROCESS_LABEL } from '../../labels.ts';
import { recordedFields } from '../start-record.ts';
import { CONTAINER_RECORD_KEYS } from './container-options.ts';
import type { ProcessInfo, ProcessStatus, SocketAddress } from '../../spec/process-info.ts';
import { boundedText } from './errors.ts';

/** The facts about a container that a ProcessInfo needs. */
export interface ContainerFacts {
  labels: Record<string, string>;
  /** Unix seconds. */
  created: number;
  /** created, running, paused, restarting, removing, exited, dead */
  state: string;
  /** When known exactly (inspect); else parsed from statusText. */
  exitCode?: number;
  /** The list's human text: "Exited (137) 2 minutes ago". */
  statusText?: string;
  reason?: string;
  ports: Array<Pick<Dockerode.Port, 'IP' | 'PrivatePort' | 'PublicPort' | 'Type'>>;
  /** The image: the list's name for it (Podman qualifies a local one), or inspect's Config.Image, the reference as created. */
  image?: string;
  /** ISO 8601; known from an inspect only. */
  startedAt?: string;
  /** ISO 8601; known from an inspect only. */
  finishedAt?: string;
}

/**
 * An Engine time (RFC 3339 with nanoseconds) -> ISO 8601, or undefined when there is none: the
 * Engine says "0001-01-01T00:00:00Z" (Go's zero time) for a container that never started or ended.
 */
export function engineTime(value: string | undefined | null): string | undefined {
  if (!value || value.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || ms <= 0 ? undefined : new Date(ms).toISOString();
}

/** The start and end times of an inspected container added to facts from the list. */
export function withTimes(
  facts: ContainerFacts,
  state: Pick<Dockerode.ContainerInspectInfo['State'], 'StartedAt' | 'FinishedAt'>,
): ContainerFacts {
  const out = { ...facts };
  const startedAt = engineTime(state.StartedAt);
  const finishedAt = engineTime(state.FinishedAt);
  if (startedAt) out.startedAt = startedAt;
  if (finishedAt) out.finishedAt = finishedAt;
  return out;
}

export function factsFromListEntry(entry: Dockerode.ContainerInfo): ContainerFacts {
  return {
    labels: entry.Labels ?? {},
    created: entry.Created,
    state: entry.State,
    statusText: entry.Status,
    ports: entry.Ports ?? [],
    ...(entry.Image ? { image: entry.Image } : {}),
  };
}

/** A created container's facts with the Engine's reason why its start failed, if it did. */
export function withStartError(facts: ContainerFacts, error: string | undefined): ContainerFacts {
  return error ? { ...facts, reason: boundedText(error) } : facts;
}

export function factsFromInspect(info: Dockerode.ContainerInspectInfo): ContainerFacts {
  const ports: ContainerFacts['ports'] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const [privatePort, type = 'tcp'] = key.split('/');
    for (const binding of bindings ?? []) {
      ports.push({ IP: binding.HostIp, PrivatePort: Number(privatePort), PublicPort: Number(binding.HostPort), Type: type });
    }
  }
  const state = info.State;
  const reasons = [state.OOMKilled ? 'OOMKilled' : '', boundedText(state.Error ?? '')].filter((r) => r !== '');
  const facts: ContainerFacts = {
    labels: info.Config?.Labels ?? {},
    // The list gives whole seconds; so does this, so that get() and list() agree.
    created: Math.floor(Date.parse(info.Created) / 1000),
    state: state.Status,
    exitCode: state.ExitCode,
    ports,
  };
  if (reasons.length > 0) facts.reason = reasons.join(': ');
  if (info.Config?.Image) facts.image = info.Config.Image;
  return withTimes(facts, state);
}

/**
 * Facts from an inspect, told as list() tells them: the reason only for a container that never
 * started (list() inspects only those), so that get() and list() agree on every process.
 */
export function asListed(facts: ContainerFacts): ContainerFacts {
  if (facts.state === 'created' || facts.reason === undefined) return facts;
  const { reason: _, ...rest } = facts;
  return rest;
}

/**
 * The Engine's state -> ours. A paused container is RUNNING with the reason 'paused': it keeps
 * its resources and its ports, and Hydroplane never pauses anything, so someone did it by hand.
 * A dead container (the Engine failed to remove it) is EXITED, like an exited one. A created one
 * is STARTING, unless inspect says its start failed: then it is FAILED.
 */
export function containerStatus(facts: ContainerFacts): Pick<ProcessInfo, 'status' | 'exit_code' | 'reason'> {
  switch (facts.state) {
    case 'running':
      return facts.reason ? { status: 'RUNNING', reason: facts.reason } : { status: 'RUNNING' };
    case 'paused':
      return { status: 'RUNNING', reason: 'paused' };
    case 'created':
      // Inspect reports why a start failed (State.Error); such a container will not start by itself.
      return facts.reason ? { status: 'FAILED', reason: facts.reason } : { status: 'STARTING' };
    case 'restarting':
      return withReason('STARTING', facts.reason);
    case 'exited':
    case 'dead':
    case 'removing': {
      const parsed = /^Exited \((-?\d+)\)/.exec(facts.statusText ?? '');
      const exitCode = facts.exitCode ?? (parsed ? Number(parsed[1]) : null);
      const out: Pick<ProcessInfo, 'status' | 'exit_code' | 'reason'> = { status: 'EXITED', exit_code: exitCode };
      const reason = facts.reason ?? (facts.state === 'exited' ? undefined : facts.state);
      if (reason) out.reason = reason;
      return out;
    }
    default:
      return { status: 'STARTING', reason: `unknown Engine state '${facts.state}'` };
  }
}

function withReason(status: ProcessStatus, reason: string | undefined): Pick<ProcessInfo, 'status' | 'reason'> {
  return reason ? { status, reason } : { status };
}

const UNSPECIFIED = new Set(['', '0.0.0.0', '::']);

/**
 * Published ports -> addresses. Exposed but unpublished ports are skipped. A port published on
 * every interface (0.0.0.0, ::, or '' as Podman says) is public and reported at `publicHost`;
 * one on a loopback address is private. The IPv4 and IPv6 twins of one binding become one entry.
 */
export function socketAddresses(ports: ContainerFacts['ports'], publicHost: string): SocketAddress[] {
  const seen = new Map<string, SocketAddress>();
  for (const port of ports) {
    if (!port.PublicPort) continue;
    const ip = port.IP ?? '';
    const address: SocketAddress = UNSPECIFIED.has(ip)
      ? { host: publicHost, port: port.PublicPort, is_public: true }
      : { host: ip, port: port.PublicPort, is_public: !isLoopbackIp(ip) };
    seen.set(`${address.host}|${address.port}|${address.is_public}`, address);
  }
  return [...seen.values()].sort((a, b) => a.port - b.port || a.host.localeCompare(b.host));
}

function isLoopbackIp(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === 'localhost';
}

/** Whether processInfo would report an address at the public host for this container. */
export function needsPublicHost(facts: ContainerFacts): boolean {
  const running = facts.state === 'running' || facts.state === 'paused';
  return running && facts.ports.some((port) => Boolean(port.PublicPort) && UNSPECIFIED.has(port.IP ?? ''));
}

/** A container that carries Hydroplane's process label -> its ProcessInfo. */
export function processInfo(facts: ContainerFacts, publicHost: string): ProcessInfo {
  const name = facts.labels[PROCESS_LABEL] ?? '';
  const running = facts.state === 'running' || facts.state === 'paused';
  const info: ProcessInfo = {
    process_name: name,
    group: facts.labels[GROUP_LABEL] || null,
    // A stopped container keeps its bindings in its config but publishes nothing.
    socket_addresses: running ? socketAddresses(facts.ports, publicHost) : [],
    created: new Date(facts.created * 1000).toISOString(),
    ...containerStatus(facts),
  };
  if (facts.image) info.image = facts.image;
  Object.assign(info, recordedFields(facts.labels, CONTAINER_RECORD_KEYS));
  if (facts.startedAt) info.started = facts.startedAt;
  // A restarted container keeps its previous end time while it runs again: an end only once it has ended.
  if (facts.startedAt && facts.finishedAt && (info.status === 'EXITED' || info.status === 'FAILED')) info.finished = facts.finishedAt;
  return info;
}

export function isOurs(labels: Record<string, string> | undefined | null): boolean {
  return labels?.[PROCESS_LABEL] !== undefined;
}
