// What the API server does to an object before it stores it: decode against the official schema
// (kubernetes-models), fill defaults, then apply the API's own validation rules.
// Rules: k8s.io/kubernetes/pkg/apis/{core,apps}/validation; defaults: pkg/apis/{core,apps}/v1/defaults.go.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Node } from 'kubernetes-models/v1/Node';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import {
  configKeyProblems,
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  envVarNameProblems,
  labelKeyProblem,
  labelValueProblem,
  portNameProblems,
} from './names.ts';
import type { KubeObject, ResourceType } from './resources.ts';
import { matchesLabels, requirementsOf } from './selectors.ts';
import {
  badRequest,
  duplicate,
  forbiddenField,
  invalid,
  invalidObject,
  notSupported,
  required,
  tooLong,
  type FieldError,
} from './status.ts';

type Json = any;

interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const MODELS: Record<string, new (data: Json) => { validate(): void }> = {
  Deployment,
  ReplicaSet,
  Namespace,
  Node,
  Pod,
  Secret,
  Service,
};

function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/**
 * Checks the object against the official OpenAPI schema. Wrong JSON types and malformed
 * quantities fail decoding (400, as in the real API); missing required fields and values
 * outside an enum fail validation (422).
 */
export function checkSchema(res: ResourceType, obj: KubeObject): void {
  const Model = MODELS[res.kind];
  if (!Model) return;
  let errors: SchemaError[];
  try {
    new Model(obj).validate();
    return;
  } catch (err) {
    errors = (err as { errors?: SchemaError[] }).errors ?? [];
    if (errors.length === 0) throw err;
  }
  // A quantity is "a string of that format or a number": its format error says more than its type error.
  const decode =
    errors.find((e) => e.keyword === 'format') ??
    errors.find((e) => e.keyword === 'type' || e.keyword === 'oneOf' || e.keyword === 'anyOf');
  if (decode) {
    const where = fieldPath(decode.instancePath);
    const why =
      decode.keyword === 'format' && decode.params['format'] === 'quantity'
        ? "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        : `json: cannot unmarshal into Go struct field ${res.kind}.${where}: ${decode.message ?? decode.keyword}`;
    throw badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: ${why}`);
  }
  const fieldErrors = errors.map((e): FieldError => {
    if (e.keyword === 'required') return required(fieldPath(e.instancePath, String(e.params['missingProperty'])));
    const value = e.instancePath
      .split('/')
      .slice(1)
      .reduce<Json>((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], obj);
    if (e.keyword === 'enum') return notSupported(fieldPath(e.instancePath), value, (e.params['allowedValues'] as string[]) ?? []);
    return invalid(fieldPath(e.instancePath), value, e.message ?? e.keyword);
  });
  throw invalidObject(res, obj.metadata?.name ?? '', fieldErrors);
}

// ---------------------------------------------------------------- defaults

function imagePullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (typeof c.image === 'string') c.imagePullPolicy ??= imagePullPolicy(c.image);
    c.resources ??= {};
    // A limit without a request requests the limit.
    for (const [name, limit] of Object.entries(c.resources.limits ?? {})) {
      c.resources.requests ??= {};
      c.resources.requests[name] ??= limit;
    }
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}

/** Fills what the API server's defaulters (and default admission plugins) fill. */
export function applyDefaults(res: ResourceType, obj: KubeObject): void {
  switch (res.kind) {
    case 'Deployment': {
      const spec = (obj.spec ??= {});
      spec.replicas ??= 1;
      spec.strategy ??= { type: 'RollingUpdate' };
      if (spec.strategy.type === 'RollingUpdate') {
        spec.strategy.rollingUpdate ??= {};
        spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
        spec.strategy.rollingUpdate.maxSurge ??= '25%';
      }
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      if (spec.template?.spec) defaultPodSpec(spec.template.spec);
      break;
    }
    case 'ReplicaSet': {
      const spec = (obj.spec ??= {});
      spec.replicas ??= 1;
      if (spec.template?.spec) defaultPodSpec(spec.template.spec);
      break;
    }
    case 'Pod': {
      const spec = (obj.spec ??= {});
      defaultPodSpec(spec);
      spec.serviceAccountName ??= 'default';
      spec.serviceAccount ??= spec.serviceAccountName;
      spec.priority ??= 0;
      spec.tolerations ??= [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ];
      break;
    }
    case 'Service': {
      const spec = (obj.spec ??= {});
      spec.type ??= 'ClusterIP';
      if (spec.type !== 'ExternalName') {
        spec.sessionAffinity ??= 'None';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    }
    case 'Secret': {
      obj.type ??= 'Opaque';
      if (obj.stringData) {
        obj.data ??= {};
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      break;
    }
    case 'Namespace': {
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec ??= { finalizers: ['kubernetes'] };
      break;
    }
  }
}

// ---------------------------------------------------------------- quantities

const SUFFIXES: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(q);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  const factor = SUFFIXES[suffix] ?? 10 ** Number(suffix.slice(1));
  return Number(m[1]) * factor;
}

// ---------------------------------------------------------------- rules

function validateLabels(labels: Record<string, string> | undefined, path: string, errors: FieldError[]): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const k = labelKeyProblem(key);
    if (k) errors.push(invalid(path, key, k));
    const v = labelValueProblem(value);
    if (v) errors.push(invalid(path, value, v));
  }
}

function validateMeta(res: ResourceType, obj: KubeObject, errors: FieldError[]): void {
  const name = obj.metadata.name;
  const problems =
    res.kind === 'Service'
      ? dns1035LabelProblems(name)
      : res.kind === 'Namespace'
        ? dns1123LabelProblems(name)
        : dns1123SubdomainProblems(name);
  for (const p of problems) errors.push(invalid('metadata.name', name, p));
  validateLabels(obj.metadata.labels, 'metadata.labels', errors);
}

const inPortRange = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

function validateContainer(c: Json, p: string, portNames: Map<string, string>, errors: FieldError[]): void {
  if (typeof c.name === 'string') for (const problem of dns1123LabelProblems(c.name)) errors.push(invalid(`${p}.name`, c.name, problem));
  if (!c.image) errors.push(required(`${p}.image`));
  else if (c.image.trim() !== c.image) errors.push(invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
  (c.ports ?? []).forEach((port: Json, i: number) => {
    const pp = `${p}.ports[${i}]`;
    if (!inPortRange(port.containerPort)) errors.push(invalid(`${pp}.containerPort`, port.containerPort, PORT_RANGE));
    if (port.hostPort !== undefined && port.hostPort !== 0 && !inPortRange(port.hostPort))
      errors.push(invalid(`${pp}.hostPort`, port.hostPort, PORT_RANGE));
    if (port.name !== undefined) {
      for (const problem of portNameProblems(port.name)) errors.push(invalid(`${pp}.name`, port.name, problem));
      if (portNames.has(port.name)) errors.push(duplicate(`${pp}.name`, port.name));
      portNames.set(port.name, pp);
    }
  });
  const envNames = new Set<string>();
  (c.env ?? []).forEach((e: Json, i: number) => {
    const ep = `${p}.env[${i}]`;
    if (!e.name) errors.push(required(`${ep}.name`));
    else for (const problem of envVarNameProblems(e.name)) errors.push(invalid(`${ep}.name`, e.name, problem));
    envNames.add(e.name);
    if (e.valueFrom !== undefined) {
      const sources = ['configMapKeyRef', 'fieldRef', 'resourceFieldRef', 'secretKeyRef', 'fileKeyRef'].filter(
        (s) => e.valueFrom[s] !== undefined,
      );
      if (sources.length === 0) {
        errors.push(
          invalid(`${ep}.valueFrom`, '', 'must specify one of: `configMapKeyRef`, `fieldRef`, `resourceFieldRef` or `secretKeyRef`'),
        );
      } else if (sources.length > 1) {
        errors.push(invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'));
      }
      if (e.value) errors.push(invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      const ref = e.valueFrom.secretKeyRef;
      if (ref) {
        if (!ref.name) errors.push(required(`${ep}.valueFrom.secretKeyRef.name`));
        if (!ref.key) errors.push(required(`${ep}.valueFrom.secretKeyRef.key`));
        else for (const problem of configKeyProblems(ref.key)) errors.push(invalid(`${ep}.valueFrom.secretKeyRef.key`, ref.key, problem));
      }
    }
  });
  const resources = c.resources ?? {};
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, q] of Object.entries(resources[kind] ?? {})) {
      const rp = `${p}.resources.${kind}[${name}]`;
      if (!STANDARD_RESOURCES.has(name) && !name.startsWith('hugepages-') && !name.includes('/')) {
        errors.push(invalid(rp, name, 'must be a standard resource type or fully qualified'));
      }
      const value = parseQuantity(q as string);
      if (value !== undefined && value < 0) errors.push(invalid(rp, q, 'must be greater than or equal to 0'));
    }
  }
  for (const [name, request] of Object.entries(resources.requests ?? {})) {
    const limit = resources.limits?.[name];
    if (limit === undefined) continue;
    const r = parseQuantity(request as string);
    const l = parseQuantity(limit as string);
    if (r !== undefined && l !== undefined && r > l) {
      errors.push(invalid(`${p}.resources.requests`, request, `must be less than or equal to ${name} limit of ${limit}`));
    }
  }
}

function validatePodSpec(spec: Json, path: string, errors: FieldError[], template: boolean): void {
  if (!spec) {
    errors.push(required(path));
    return;
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errors.push(required(`${path}.containers`));
  const names = new Set<string>();
  const portNames = new Map<string, string>();
  const all: Array<[Json, string]> = [
    ...(spec.initContainers ?? []).map((c: Json, i: number): [Json, string] => [c, `${path}.initContainers[${i}]`]),
    ...(spec.containers ?? []).map((c: Json, i: number): [Json, string] => [c, `${path}.containers[${i}]`]),
  ];
  for (const [c, p] of all) {
    if (names.has(c.name)) errors.push(duplicate(`${p}.name`, c.name));
    names.add(c.name);
    validateContainer(c, p, portNames, errors);
  }
  (spec.imagePullSecrets ?? []).forEach((s: Json, i: number) => {
    if (!s.name) errors.push(required(`${path}.imagePullSecrets[${i}].name`));
  });
  validateLabels(spec.nodeSelector, `${path}.nodeSelector`, errors);
  if (template && spec.restartPolicy !== 'Always') errors.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always']));
}

function validateWorkload(obj: KubeObject, old: KubeObject | undefined, errors: FieldError[]): void {
  const spec = obj.spec ?? {};
  if (typeof spec.replicas === 'number' && spec.replicas < 0)
    errors.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  const selector = spec.selector;
  if (!selector) {
    errors.push(required('spec.selector'));
  } else {
    const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
    if (empty) errors.push(invalid('spec.selector', selector, `empty selector is invalid for ${obj.kind.toLowerCase()}`));
    validateLabels(selector.matchLabels, 'spec.selector.matchLabels', errors);
    (selector.matchExpressions ?? []).forEach((e: Json, i: number) => {
      const ops = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
      if (!ops.includes(e.operator)) errors.push(notSupported(`spec.selector.matchExpressions[${i}].operator`, e.operator, ops));
      const needsValues = e.operator === 'In' || e.operator === 'NotIn';
      if (needsValues && !(e.values?.length > 0))
        errors.push(required(`spec.selector.matchExpressions[${i}].values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      if (!needsValues && e.values?.length > 0)
        errors.push(
          forbiddenField(
            `spec.selector.matchExpressions[${i}].values`,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
    });
    const labels = spec.template?.metadata?.labels;
    if (!empty && !matchesLabels(requirementsOf(selector), labels)) {
      errors.push(invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
    }
    if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(selector)) {
      errors.push(invalid('spec.selector', selector, 'field is immutable'));
    }
  }
  validateLabels(spec.template?.metadata?.labels, 'spec.template.metadata.labels', errors);
  validatePodSpec(spec.template?.spec, 'spec.template.spec', errors, true);
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validateService(obj: KubeObject, old: KubeObject | undefined, errors: FieldError[]): void {
  const spec = obj.spec ?? {};
  const ports: Json[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (spec.type !== 'ExternalName' && !headless && ports.length === 0) errors.push(required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    const p = `spec.ports[${i}]`;
    if (ports.length > 1 && !port.name) errors.push(required(`${p}.name`));
    if (port.name) {
      for (const problem of dns1123LabelProblems(port.name)) errors.push(invalid(`${p}.name`, port.name, problem));
      if (names.has(port.name)) errors.push(duplicate(`${p}.name`, port.name));
      names.add(port.name);
    }
    if (!inPortRange(port.port)) errors.push(invalid(`${p}.port`, port.port, PORT_RANGE));
    if (!PROTOCOLS.includes(port.protocol)) errors.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (typeof port.targetPort === 'number') {
      if (!inPortRange(port.targetPort)) errors.push(invalid(`${p}.targetPort`, port.targetPort, PORT_RANGE));
    } else if (typeof port.targetPort === 'string') {
      for (const problem of portNameProblems(port.targetPort)) errors.push(invalid(`${p}.targetPort`, port.targetPort, problem));
    }
    if (port.nodePort !== undefined && port.nodePort !== 0) {
      if (spec.type === 'ClusterIP' || spec.type === 'ExternalName') {
        errors.push(forbiddenField(`${p}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      }
      const key = `${port.nodePort}/${port.protocol}`;
      if (nodePorts.has(key)) errors.push(duplicate(`${p}.nodePort`, port.nodePort));
      nodePorts.add(key);
    }
    const key = `${port.port}/${port.protocol}`;
    if (seen.has(key)) errors.push(duplicate(p, { port: port.port, protocol: port.protocol }));
    seen.add(key);
  });
  validateLabels(spec.selector, 'spec.selector', errors);
  if (old && old.spec?.clusterIP && spec.clusterIP && spec.clusterIP !== old.spec.clusterIP) {
    errors.push(invalid('spec.clusterIPs[0]', spec.clusterIPs ?? [spec.clusterIP], 'may not change once set'));
  }
}

const MAX_SECRET_SIZE = 1024 * 1024;

function validateSecret(obj: KubeObject, old: KubeObject | undefined, errors: FieldError[]): void {
  let size = 0;
  for (const [key, value] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
    for (const problem of configKeyProblems(key)) errors.push(invalid(`data[${key}]`, key, problem));
    size += Buffer.from(value, 'base64').length;
  }
  if (size > MAX_SECRET_SIZE) errors.push(tooLong('data', MAX_SECRET_SIZE));
  const typed: Record<string, string> = { 'kubernetes.io/dockerconfigjson': '.dockerconfigjson', 'kubernetes.io/dockercfg': '.dockercfg' };
  const key = typed[obj.type];
  if (key !== undefined) {
    const raw = obj.data?.[key];
    if (!raw) errors.push(required(`data[${key}]`));
    else {
      try {
        JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
      } catch (err) {
        errors.push(invalid(`data[${key}]`, '<secret contents redacted>', (err as Error).message));
      }
    }
  }
  if (old && old.type !== obj.type) errors.push(invalid('type', obj.type, 'field is immutable'));
}

function validatePodUpdate(obj: KubeObject, old: KubeObject, errors: FieldError[]): void {
  // Only images (and a few scheduling fields we do not model) may change on a running pod.
  const strip = (spec: Json) =>
    JSON.stringify({ ...spec, containers: (spec.containers ?? []).map((c: Json) => ({ ...c, image: undefined })) });
  if (strip(obj.spec) !== strip(old.spec)) {
    errors.push(
      forbiddenField(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
}

/** The API's validation of a (defaulted) object; throws 422 Invalid with every cause. */
export function validate(res: ResourceType, obj: KubeObject, old?: KubeObject): void {
  const errors: FieldError[] = [];
  validateMeta(res, obj, errors);
  switch (res.kind) {
    case 'Deployment':
    case 'ReplicaSet':
      validateWorkload(obj, old, errors);
      break;
    case 'Pod':
      validatePodSpec(obj.spec, 'spec', errors, false);
      if (old) validatePodUpdate(obj, old, errors);
      break;
    case 'Service':
      validateService(obj, old, errors);
      break;
    case 'Secret':
      validateSecret(obj, old, errors);
      break;
  }
  if (errors.length > 0) throw invalidObject(res, obj.metadata.name, errors);
}
