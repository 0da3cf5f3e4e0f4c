// Spec -> Engine request bodies. Pure: secrets arrive already resolved, so this does no I/O and
// its output can be checked shape for shape.
import type Dockerode from 'dockerode';
import { EXPIRES_AT_LABEL, SPEC_DIGEST_LABEL, labelsFor } from '../../labels.ts';
import type { ProcessSpec } from '../../spec/process-spec.ts';
import { type RecordKeys, type StartRecord, recordEntries } from '../start-record.ts';

/** Where a container keeps its start record: in labels, which a container cannot change. */
export const CONTAINER_RECORD_KEYS: RecordKeys = { specDigest: SPEC_DIGEST_LABEL, expiresAt: EXPIRES_AT_LABEL };

const MIB = 1024 * 1024;
/** The Engine refuses CpuShares below 2 (cgroup v1's minimum). */
const MIN_CPU_SHARES = 2;

export interface ContainerOptionsConfig {
  /** The bridge network that the container joins. */
  network: string;
  /** The start's record (spec digest, expiry), kept as labels beside the ownership labels. */
  record?: StartRecord;
}

/**
 * The body of POST /containers/create for a spec.
 *
 * `secretEnv` holds the value of every env var whose value is a process secret, keyed by the
 * variable's name; literal values come from the spec itself.
 *
 * node_selector is ignored: Docker runs every process on this one machine.
 */
export function containerCreateOptions(
  spec: ProcessSpec,
  secretEnv: ReadonlyMap<string, string>,
  config: ContainerOptionsConfig,
): Dockerode.ContainerCreateOptions {
  const { container } = spec;
  const hostIp = spec.has_public_ip ? '0.0.0.0' : '127.0.0.1';

  const exposedPorts: Record<string, Record<string, never>> = {};
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of container.ports) {
    const key = `${port.container_port}/${port.protocol}`;
    exposedPorts[key] = {};
    // One container port may be published on several host ports.
    (portBindings[key] ??= []).push({ HostIp: hostIp, HostPort: String(port.host_port ?? port.container_port) });
  }

  const env = container.env.map(({ name, value }) => {
    if (typeof value === 'string') return `${name}=${value}`;
    const resolved = secretEnv.get(name);
    if (resolved === undefined) throw new Error(`env var '${name}' is a secret that was not resolved`);
    return `${name}=${resolved}`;
  });

  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: config.network,
    PortBindings: portBindings,
    // Said, not left to the Engine's default: a process that ends stays ended (its status is
    // EXITED), and Engines report an unset policy differently (20.10 and Podman '', 26 'no').
    RestartPolicy: { Name: 'no' },
    ...resources(container),
  };

  const options: Dockerode.ContainerCreateOptions = {
    name: spec.process_name,
    Image: container.image_uri,
    Labels: {
      ...labelsFor(spec.process_name, spec.group),
      ...(config.record === undefined ? {} : recordEntries(config.record, CONTAINER_RECORD_KEYS)),
    },
    Env: env,
    ExposedPorts: exposedPorts,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [config.network]: { Aliases: [spec.process_name] } } },
  };
  // An empty command means the image's own, as it does on Kubernetes.
  if (container.command !== undefined && container.command.length > 0) options.Cmd = [...container.command];
  return options;
}

function resources(container: ProcessSpec['container']): Partial<Dockerode.HostConfig> {
  const out: Partial<Dockerode.HostConfig> = {};
  const limit = container.resource_limit;
  const request = container.resource_request;
  if (limit?.cpu_vcpu !== undefined) out.NanoCpus = Math.round(limit.cpu_vcpu * 1e9);
  if (limit?.memory_mib !== undefined) out.Memory = limit.memory_mib * MIB;
  // A CPU request becomes a relative weight, 1024 per vCPU, as Kubernetes does on cgroup v1.
  if (request?.cpu_vcpu !== undefined) out.CpuShares = Math.max(MIN_CPU_SHARES, Math.round(request.cpu_vcpu * 1024));
  if (request?.memory_mib !== undefined) out.MemoryReservation = request.memory_mib * MIB;
  return out;
}
