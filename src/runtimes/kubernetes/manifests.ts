// Process spec -> Kubernetes objects. Pure: no I/O; the runtime resolves registry credentials
// first and hands them in. A process becomes one Deployment (1 replica), one Service for its
// ports (none without ports), and, for a private registry, one image pull Secret; all named after
// the process and carrying Hydroplane's labels.
import type {
  V1Container,
  V1ContainerPort,
  V1Deployment,
  V1EnvVar,
  V1ResourceRequirements,
  V1Secret,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { HydroplaneError } from '../../errors.ts';
import { EXPIRES_AT_ANNOTATION, SPEC_DIGEST_ANNOTATION, labelsFor } from '../../labels.ts';
import { type RecordKeys, type StartRecord, recordEntries } from '../start-record.ts';
import { type PortSpec, type ProcessSecret, type ProcessSpec, type ResourceSpec, isProcessSecret } from '../../spec/process-spec.ts';
import { registryServerAddress } from '../../spec/image-reference.ts';

export interface RegistryCredentials {
  /** The key of the credentials in the docker config: the registry host, or Docker Hub's URL. */
  server: string;
  username: string;
  password: string;
}

export interface ProcessManifests {
  deployment: V1Deployment;
  /** Undefined when the process has no ports. */
  service: V1Service | undefined;
  /** Present when the spec logs in to its registry. */
  pullSecret: V1Secret | undefined;
}

/** Where a Deployment keeps its start record: in annotations (a label value cannot hold a sha256 hex or an ISO time). */
export const DEPLOYMENT_RECORD_KEYS: RecordKeys = { specDigest: SPEC_DIGEST_ANNOTATION, expiresAt: EXPIRES_AT_ANNOTATION };

export function processManifests(
  spec: ProcessSpec,
  namespace: string,
  credentials?: RegistryCredentials,
  record?: StartRecord,
): ProcessManifests {
  const pullSecret = credentials === undefined ? undefined : pullSecretManifest(spec, namespace, credentials);
  return {
    deployment: deploymentManifest(spec, namespace, { pullSecretName: pullSecret?.metadata?.name, record }),
    service: serviceManifest(spec, namespace),
    pullSecret,
  };
}

/** The pull Secret is named after its process, like the process's other objects. */
export function pullSecretName(processName: string): string {
  return processName;
}

/** Whether a process's pods pull with its own image pull Secret (which its stop deletes too). */
export function usesOwnPullSecret(processName: string, deployment: V1Deployment | undefined): boolean {
  return deployment?.spec?.template?.spec?.imagePullSecrets?.some((s) => s.name === pullSecretName(processName)) ?? false;
}

export function deploymentManifest(
  spec: ProcessSpec,
  namespace: string,
  options: { pullSecretName?: string | undefined; record?: StartRecord | undefined } = {},
): V1Deployment {
  const name = spec.process_name;
  const labels = labelsFor(name, spec.group);
  const container: V1Container = { name, image: spec.container.image_uri };
  // `args` replaces the image's CMD and keeps its ENTRYPOINT, as `command` does on Docker.
  if (spec.container.command !== undefined && spec.container.command.length > 0) container.args = [...spec.container.command];
  if (spec.container.env.length > 0) container.env = spec.container.env.map(envVar);
  const ports = containerPorts(spec.container.ports);
  if (ports.length > 0) container.ports = ports;
  const resources = resourceRequirements(spec.container.resource_request, spec.container.resource_limit);
  if (resources) container.resources = resources;

  const podSpec: NonNullable<NonNullable<V1Deployment['spec']>['template']['spec']> = { containers: [container] };
  if (spec.container.node_selector !== undefined && Object.keys(spec.container.node_selector).length > 0) {
    podSpec.nodeSelector = { ...spec.container.node_selector };
  }
  if (options.pullSecretName !== undefined) podSpec.imagePullSecrets = [{ name: options.pullSecretName }];

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: { ...labels },
      // On the Deployment only: a new pod template would restart the pod, and the Deployment is what is read back.
      ...(options.record === undefined ? {} : { annotations: recordEntries(options.record, DEPLOYMENT_RECORD_KEYS) }),
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...labels } },
      template: { metadata: { labels: { ...labels } }, spec: podSpec },
    },
  };
}

export function serviceManifest(spec: ProcessSpec, namespace: string): V1Service | undefined {
  const ports = spec.container.ports;
  if (ports.length === 0) return undefined;
  const name = spec.process_name;
  const labels = labelsFor(name, spec.group);
  const names = portNames(ports, (p) => p.host_port ?? p.container_port);
  const servicePorts: V1ServicePort[] = ports.map((p, i) => {
    const portName = names[i];
    return {
      ...(portName === undefined ? {} : { name: portName }),
      port: p.host_port ?? p.container_port,
      targetPort: p.container_port,
      protocol: protocolOf(p),
    };
  });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...labels } },
    spec: {
      type: spec.has_public_ip ? 'NodePort' : 'ClusterIP',
      selector: { ...labels },
      ports: servicePorts,
    },
  };
}

export function pullSecretManifest(spec: ProcessSpec, namespace: string, credentials: RegistryCredentials): V1Secret {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  const config = { auths: { [credentials.server]: { username: credentials.username, password: credentials.password, auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: pullSecretName(spec.process_name), namespace, labels: labelsFor(spec.process_name, spec.group) },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

/** Reads the registry login of the spec, if it has one, through the secret store. */
export async function resolveRegistryCredentials(
  spec: ProcessSpec,
  resolveSecret: (ref: ProcessSecret) => Promise<string>,
): Promise<RegistryCredentials | undefined> {
  const { username, password, image_uri } = spec.container;
  if (username === undefined) return undefined;
  const [user, pass] = await Promise.all([
    typeof username === 'string' ? username : resolveSecret(username),
    password === undefined ? '' : resolveSecret(password),
  ]);
  return { server: registryServerAddress(image_uri), username: user, password: pass };
}

function envVar(variable: ProcessSpec['container']['env'][number], index: number): V1EnvVar {
  const { name, value } = variable;
  if (!isProcessSecret(value)) return { name, value };
  if (value.key === undefined) {
    const message =
      `env variable '${name}' takes the whole of secret '${value.secret_name}', but on Kubernetes a process secret names ` +
      `a Kubernetes Secret in the namespace and one of its keys: add "key"`;
    throw new HydroplaneError('unsupported', message, {
      fields: [{ path: `container.env[${index}].value.key`, message: 'a key is needed on Kubernetes' }],
    });
  }
  return { name, valueFrom: { secretKeyRef: { name: value.secret_name, key: value.key } } };
}

const protocolOf = (p: PortSpec): string => p.protocol.toUpperCase();

/**
 * Port names: the spec's, or generated when there are several (Kubernetes requires them then).
 * A generated name never takes a name that the spec gives to another port.
 */
function portNames<T extends { name?: string | undefined; protocol: string }>(
  ports: readonly T[],
  number: (p: T) => number,
): Array<string | undefined> {
  const taken = new Set(ports.flatMap((p) => (p.name === undefined ? [] : [p.name])));
  return ports.map((p) => {
    if (p.name !== undefined || ports.length < 2) return p.name;
    const base = `p-${number(p)}-${p.protocol}`;
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
    taken.add(candidate);
    return candidate;
  });
}

function containerPorts(ports: readonly PortSpec[]): V1ContainerPort[] {
  // Several spec ports may publish one container port (on different host ports): list it once.
  const unique: Array<{ containerPort: number; protocol: string; name?: string | undefined }> = [];
  for (const p of ports) {
    const existing = unique.find((u) => u.containerPort === p.container_port && u.protocol === p.protocol);
    if (existing) existing.name ??= p.name;
    else unique.push({ containerPort: p.container_port, protocol: p.protocol, name: p.name });
  }
  const names = portNames(unique, (u) => u.containerPort);
  return unique.map((u, i): V1ContainerPort => {
    const portName = names[i];
    return { ...(portName === undefined ? {} : { name: portName }), containerPort: u.containerPort, protocol: u.protocol.toUpperCase() };
  });
}

/** vCPUs as a quantity: whole cores as "2", else millicores as "250m". */
export function cpuQuantity(vcpu: number): string {
  const milli = Math.round(vcpu * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function quantities(r: ResourceSpec | undefined): Record<string, string> | undefined {
  if (r === undefined) return undefined;
  const out: Record<string, string> = {};
  if (r.cpu_vcpu !== undefined) out['cpu'] = cpuQuantity(r.cpu_vcpu);
  if (r.memory_mib !== undefined) out['memory'] = `${r.memory_mib}Mi`;
  return Object.keys(out).length > 0 ? out : undefined;
}

function resourceRequirements(request: ResourceSpec | undefined, limit: ResourceSpec | undefined): V1ResourceRequirements | undefined {
  const requests = quantities(request);
  const limits = quantities(limit);
  if (!requests && !limits) return undefined;
  const out: V1ResourceRequirements = {};
  if (requests) out.requests = requests;
  if (limits) out.limits = limits;
  return out;
}
