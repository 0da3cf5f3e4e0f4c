// The REST semantics of each verb (k8s.io/apiserver/pkg/registry/generic/registry/store.go):
// create, get, list, update, patch, delete with owner propagation, and the Service allocators.
import { randomInt } from 'node:crypto';
import { apiVersionOf, clone, timestamp, type KubeObject, type ResourceType, resourceOfKind } from './resources.ts';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  failure,
  fieldErrorMessage,
  invalid,
  invalidObject,
  notFound,
  success,
  type FieldError,
  type Status,
} from './status.ts';
import type { Scheduler, Store } from './store.ts';
import { applyDefaults, checkSchema, validate } from './validation.ts';

type Json = any;

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

export interface RegistryOptions {
  serviceCidr: string;
  /** How long a deleted pod stays Terminating before it is gone (its grace period, scaled down). */
  podTerminationMs: number;
  /** Delay of the garbage collector's background deletion of dependents. */
  gcDelayMs: number;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface Reply {
  code: number;
  body: KubeObject | Status;
}

const FIELD_SELECTORS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  secrets: ['type'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
};

function fieldValue(obj: Json, path: string): string {
  const v = path.split('.').reduce<Json>((o, k) => o?.[k], obj);
  return v === undefined || v === null ? '' : String(v);
}

class ClusterIpAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Map<string, string>();
  readonly cidr: string;

  constructor(cidr: string) {
    const [ip, bits] = cidr.split('/');
    this.cidr = cidr;
    this.base = ipToInt(ip!);
    this.size = 2 ** (32 - Number(bits));
  }

  contains(ip: string): boolean {
    const n = ipToInt(ip);
    return Number.isFinite(n) && n > this.base && n < this.base + this.size - 1;
  }

  owner(ip: string): string | undefined {
    return this.used.get(ip);
  }

  take(ip: string, owner: string): void {
    this.used.set(ip, owner);
  }

  allocate(owner: string): string {
    for (;;) {
      const ip = intToIp(this.base + randomInt(2, this.size - 1));
      if (!this.used.has(ip)) {
        this.used.set(ip, owner);
        return ip;
      }
    }
  }

  release(ip: string | undefined, owner: string): void {
    if (ip !== undefined && this.used.get(ip) === owner) this.used.delete(ip);
  }
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return Number.NaN;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class Registry {
  private readonly store: Store;
  private readonly scheduler: Scheduler;
  private readonly options: RegistryOptions;
  private readonly clusterIps: ClusterIpAllocator;
  private readonly nodePorts = new Map<number, string>();

  constructor(store: Store, scheduler: Scheduler, options: RegistryOptions) {
    this.store = store;
    this.scheduler = scheduler;
    this.options = options;
    this.clusterIps = new ClusterIpAllocator(options.serviceCidr);
  }

  get(res: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(res, namespace, name);
    if (!obj) throw notFound(res, name);
    return obj;
  }

  list(res: ResourceType, namespace: string | undefined, options: ListOptions = {}): Json {
    const labels = parseLabelSelector(options.labelSelector ?? '');
    const fields = parseFieldSelector(options.fieldSelector ?? '');
    const supported = ['metadata.name', 'metadata.namespace', ...(FIELD_SELECTORS[res.plural] ?? [])];
    for (const f of fields) {
      if (!supported.includes(f.field)) {
        throw badRequest(`"${f.field}" is not a known field selector: only ${supported.map((s) => `"${s}"`).join(', ')}`);
      }
    }
    const matches = (o: KubeObject) =>
      matchesLabels(labels, o.metadata.labels) && fields.every((f) => (fieldValue(o, f.field) === f.value) !== f.negate);
    // A selector that requires one name reads that one key, as the API server's store does
    // (ListPredicate's MatchesSingle): its cost does not grow with the objects of the namespace.
    const single = fields.find((f) => f.field === 'metadata.name' && !f.negate);
    let items: KubeObject[];
    if (single !== undefined && (namespace !== undefined || !res.namespaced)) {
      const obj = this.store.get(res, namespace, single.value);
      items = obj !== undefined && matches(obj) ? [obj] : [];
    } else {
      items = this.store.list(res, namespace, matches);
    }
    const metadata: Json = { resourceVersion: this.store.resourceVersion };
    if (options.continue) {
      let after: string;
      try {
        after = JSON.parse(Buffer.from(options.continue, 'base64url').toString('utf8')).start;
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > after);
    }
    if (options.limit !== undefined && options.limit > 0 && items.length > options.limit) {
      const last = items[options.limit - 1]!;
      metadata.remainingItemCount = items.length - options.limit;
      metadata.continue = Buffer.from(JSON.stringify({ start: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString(
        'base64url',
      );
      items = items.slice(0, options.limit);
    }
    // List items carry no apiVersion and kind: the list's own say it.
    for (const item of items) {
      delete (item as Json).apiVersion;
      delete (item as Json).kind;
    }
    return { kind: `${res.kind}List`, apiVersion: apiVersionOf(res), metadata, items };
  }

  private checkTypeMeta(res: ResourceType, body: Json): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`the body of the request was not a ${res.kind}`);
    if (body.kind !== undefined && body.kind !== res.kind) {
      throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${res.kind})`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(res)) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(res)})`);
    }
  }

  private requireNamespace(res: ResourceType, namespace: string | undefined): void {
    if (!res.namespaced) return;
    const ns = resourceOfKind('Namespace');
    if (!this.store.get(ns, undefined, namespace ?? '')) throw notFound(ns, namespace ?? '');
  }

  create(res: ResourceType, namespace: string | undefined, body: Json, dryRun = false): KubeObject {
    this.checkTypeMeta(res, body);
    const obj: KubeObject = clone(body);
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    obj.metadata ??= {} as KubeObject['metadata'];
    const meta = obj.metadata;
    if (res.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace!;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name)
      throw invalidObject(res, '', [{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }]);
    if (res.hasStatus && res.kind !== 'Node') delete obj.status;
    for (const f of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const) {
      delete meta[f];
    }
    checkSchema(res, obj);
    applyDefaults(res, obj);
    validate(res, obj);
    this.requireNamespace(res, namespace);
    if (this.store.get(res, namespace, meta.name)) throw alreadyExists(res, meta.name);
    const key = `${namespace}/${meta.name}`;
    if (res.kind === 'Service') this.allocateService(res, obj, undefined, key, dryRun);
    if (res.kind === 'Pod') obj.status = { phase: 'Pending', qosClass: qosClass(obj.spec) };
    if (res.kind === 'Namespace') obj.status = { phase: 'Active' };
    if (res.kind === 'Service') obj.status = { loadBalancer: {} };
    meta.uid = this.store.newUid();
    meta.creationTimestamp = timestamp();
    if (res.hasGeneration) meta.generation = 1;
    if (dryRun) return obj;
    return this.store.put(res, obj);
  }

  update(
    res: ResourceType,
    namespace: string | undefined,
    name: string,
    body: Json,
    options: { subresource?: string; dryRun?: boolean } = {},
  ): KubeObject {
    const old = this.get(res, namespace, name);
    this.checkTypeMeta(res, body);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (res.namespaced && body.metadata?.namespace && body.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(res, name);
    let obj: KubeObject;
    if (options.subresource === 'status') {
      obj = clone(old);
      obj.status = clone(body.status);
    } else {
      obj = clone(body);
      obj.apiVersion = apiVersionOf(res);
      obj.kind = res.kind;
      obj.metadata = { ...body.metadata };
      if (res.hasStatus) obj.status = clone(old.status);
    }
    const meta = obj.metadata;
    meta.name = name;
    if (res.namespaced) meta.namespace = namespace!;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) meta.deletionTimestamp = old.metadata.deletionTimestamp;
    if (old.metadata.generation !== undefined) meta.generation = old.metadata.generation;
    checkSchema(res, obj);
    applyDefaults(res, obj);
    if (res.kind === 'Service') carryOverServiceAllocations(obj, old);
    validate(res, obj, old);
    if (res.kind === 'Service') this.allocateService(res, obj, old, `${namespace}/${name}`, options.dryRun ?? false);
    if (res.hasGeneration && JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) meta.generation = (old.metadata.generation ?? 0) + 1;
    if (options.dryRun) return obj;
    // Removing the last finalizer of an object being deleted completes its deletion.
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      this.removeNow(res, obj);
      return obj;
    }
    return this.store.put(res, obj);
  }

  patch(res: ResourceType, namespace: string | undefined, name: string, contentType: string, patch: Json, dryRun = false): KubeObject {
    const old = this.get(res, namespace, name);
    let doc: Json;
    if (contentType === 'application/json-patch+json') {
      if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      doc = applyJsonPatch(clone(old), patch);
    } else if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
      // Strategic merge differs for lists with merge keys; the stand-in merges like RFC 7396.
      doc = mergePatch(clone(old), patch);
    } else {
      throw failure(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
    }
    return this.update(res, namespace, name, doc, { dryRun });
  }

  delete(res: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): Reply {
    const obj = this.get(res, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw failure(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${res.plural} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw failure(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${res.plural} "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return { code: 200, body: obj };
    if (obj.metadata.deletionTimestamp) return { code: 202, body: obj };
    const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : 'Background');
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw invalidObject(res, name, [
        { type: 'FieldValueNotSupported', field: 'propagationPolicy', value: policy, supported: ['Foreground', 'Background', 'Orphan'] },
      ]);
    }

    if (res.kind === 'Pod') {
      const grace = options.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
      if (grace > 0 && this.options.podTerminationMs > 0) {
        obj.metadata.deletionTimestamp = timestamp(new Date(Date.now() + grace * 1000));
        obj.metadata.deletionGracePeriodSeconds = grace;
        const terminating = this.store.put(res, obj);
        this.scheduler.after(this.options.podTerminationMs, () => {
          const current = this.store.get(res, namespace, name);
          if (current?.metadata.uid === obj.metadata.uid) this.removeNow(res, current);
        });
        return { code: 200, body: terminating };
      }
    }

    const dependents = this.store.dependentsOf(obj.metadata.uid);
    if (policy === 'Orphan') {
      for (const d of dependents) {
        d.object.metadata.ownerReferences = d.object.metadata.ownerReferences?.filter((r) => r.uid !== obj.metadata.uid);
        this.store.put(d.res, d.object);
      }
    } else if (policy === 'Foreground' && dependents.length > 0) {
      obj.metadata.deletionTimestamp = timestamp();
      obj.metadata.deletionGracePeriodSeconds = 0;
      obj.metadata.finalizers = [...(obj.metadata.finalizers ?? []), 'foregroundDeletion'];
      const marked = this.store.put(res, obj);
      this.collectForeground(res, marked);
      return { code: 202, body: marked };
    }
    this.removeNow(res, obj);
    if (policy === 'Background' && dependents.length > 0) {
      this.scheduler.after(this.options.gcDelayMs, () => this.collectOrphansOf(obj.metadata.uid));
    }
    if (res.returnsDeletedObject) return { code: 200, body: obj };
    return { code: 200, body: success({ name, ...(res.group ? { group: res.group } : {}), kind: res.plural, uid: obj.metadata.uid }) };
  }

  /**
   * DELETE on a collection (the generic registry's DeleteCollection): the objects that the list of
   * the same selectors answers, each deleted as by DELETE with the same options; answers that list,
   * the objects as they were before their deletion. Invalid options are refused before anything
   * is deleted, as the API's validation of DeleteOptions does.
   */
  deleteCollection(res: ResourceType, namespace: string | undefined, list: ListOptions, options: DeleteOptions): Json {
    const policy = options.propagationPolicy;
    if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      // The handler's check of the options, before the registry: an Invalid DeleteOptions.
      const error: FieldError = {
        type: 'FieldValueNotSupported',
        field: 'propagationPolicy',
        value: policy,
        supported: ['Foreground', 'Background', 'Orphan'],
      };
      throw failure(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: ${fieldErrorMessage(error)}`, {
        name: '',
        group: 'meta.k8s.io',
        kind: 'DeleteOptions',
        causes: [{ reason: error.type, message: fieldErrorMessage(error), field: error.field }],
      });
    }
    const matched = this.list(res, namespace, list);
    for (const item of matched.items) {
      try {
        this.delete(res, item.metadata.namespace, item.metadata.name, options);
      } catch (err) {
        if (!(err instanceof ApiError && err.status.code === 404)) throw err;
      }
    }
    return matched;
  }

  /** The garbage collector: deletes what the gone owner owned, in the background. */
  private collectOrphansOf(uid: string): void {
    for (const d of this.store.dependentsOf(uid)) {
      const others = d.object.metadata.ownerReferences?.filter((r) => r.uid !== uid) ?? [];
      if (others.length > 0) {
        d.object.metadata.ownerReferences = others;
        this.store.put(d.res, d.object);
        continue;
      }
      try {
        this.delete(d.res, d.object.metadata.namespace, d.object.metadata.name, { propagationPolicy: 'Background' });
      } catch (err) {
        if (!(err instanceof ApiError && err.status.code === 404)) throw err;
      }
    }
  }

  private collectForeground(res: ResourceType, owner: KubeObject): void {
    const step = () => {
      const dependents = this.store.dependentsOf(owner.metadata.uid);
      if (dependents.length === 0) {
        const current = this.store.get(res, owner.metadata.namespace, owner.metadata.name);
        if (current?.metadata.uid === owner.metadata.uid) this.removeNow(res, current);
        return;
      }
      for (const d of dependents) {
        if (d.object.metadata.deletionTimestamp) continue;
        this.delete(d.res, d.object.metadata.namespace, d.object.metadata.name, { propagationPolicy: 'Foreground' });
      }
      this.scheduler.after(Math.max(5, this.options.gcDelayMs), step);
    };
    this.scheduler.after(this.options.gcDelayMs, step);
  }

  private removeNow(res: ResourceType, obj: KubeObject): void {
    if (res.kind === 'Service') this.releaseService(obj, `${obj.metadata.namespace}/${obj.metadata.name}`);
    if (res.kind === 'Namespace') {
      for (const r of ['deployments', 'replicasets', 'pods', 'services', 'secrets']) {
        const nsRes = resourceOfPlural(r);
        for (const o of this.store.list(nsRes, obj.metadata.name)) this.removeNow(nsRes, o);
      }
    }
    this.store.remove(res, obj);
  }

  // ---------------------------------------------------------------- Services

  private allocateService(res: ResourceType, obj: KubeObject, old: KubeObject | undefined, owner: string, dryRun: boolean): void {
    const spec = obj.spec;
    const errors: FieldError[] = [];
    const plan: { ip?: string; ports: number[] } = { ports: [] };
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else if (spec.clusterIP && spec.clusterIP !== old?.spec?.clusterIP) {
      const ip: string = spec.clusterIP;
      if (!this.clusterIps.contains(ip)) {
        errors.push(
          invalid(
            'spec.clusterIPs',
            [ip],
            `failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is ${this.clusterIps.cidr}`,
          ),
        );
      } else if (this.clusterIps.owner(ip) !== undefined && this.clusterIps.owner(ip) !== owner) {
        errors.push(invalid('spec.clusterIPs', [ip], `failed to allocate IP ${ip}: provided IP is already allocated`));
      } else plan.ip = ip;
    }
    const usesNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    const claimed = new Set<number>();
    if (usesNodePorts) {
      (spec.ports ?? []).forEach((p: Json, i: number) => {
        if (!p.nodePort) return;
        if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          errors.push(
            invalid(
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
            ),
          );
        } else if ((this.nodePorts.get(p.nodePort) ?? owner) !== owner) {
          errors.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
        }
        claimed.add(p.nodePort);
      });
    }
    if (errors.length > 0) throw invalidObject(res, obj.metadata.name, errors);
    if (dryRun) return;
    if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
      if (plan.ip) this.clusterIps.take(plan.ip, owner);
      else if (!spec.clusterIP) spec.clusterIP = this.clusterIps.allocate(owner);
      spec.clusterIPs = [spec.clusterIP];
    }
    if (spec.type !== 'ExternalName') {
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }
    if (usesNodePorts) {
      for (const p of spec.ports ?? []) {
        if (!p.nodePort) {
          p.nodePort = this.freeNodePort(claimed);
          claimed.add(p.nodePort);
        }
        this.nodePorts.set(p.nodePort, owner);
      }
    } else {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
    if (old) {
      for (const p of old.spec?.ports ?? [])
        if (p.nodePort && !claimed.has(p.nodePort) && this.nodePorts.get(p.nodePort) === owner) this.nodePorts.delete(p.nodePort);
      if (old.spec?.clusterIP && old.spec.clusterIP !== spec.clusterIP) this.clusterIps.release(old.spec.clusterIP, owner);
    }
  }

  private freeNodePort(claimed: Set<number>): number {
    for (;;) {
      const port = randomInt(NODE_PORT_MIN, NODE_PORT_MAX + 1);
      if (!this.nodePorts.has(port) && !claimed.has(port)) return port;
    }
  }

  private releaseService(obj: KubeObject, owner: string): void {
    this.clusterIps.release(obj.spec?.clusterIP, owner);
    for (const p of obj.spec?.ports ?? []) if (p.nodePort && this.nodePorts.get(p.nodePort) === owner) this.nodePorts.delete(p.nodePort);
  }
}

/** An update that leaves out the allocated IP and node ports keeps them, as the API does. */
function carryOverServiceAllocations(obj: KubeObject, old: KubeObject): void {
  const spec = obj.spec;
  if (!spec || !old.spec) return;
  if (!spec.clusterIP && old.spec.clusterIP && spec.type !== 'ExternalName') {
    spec.clusterIP = old.spec.clusterIP;
    spec.clusterIPs = old.spec.clusterIPs;
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const before = (old.spec.ports ?? []).find((o: Json) => o.port === p.port && o.protocol === p.protocol && o.nodePort);
      if (before) p.nodePort = before.nodePort;
    }
  }
}

function resourceOfPlural(plural: string): ResourceType {
  const kinds: Record<string, string> = {
    deployments: 'Deployment',
    replicasets: 'ReplicaSet',
    pods: 'Pod',
    services: 'Service',
    secrets: 'Secret',
  };
  return resourceOfKind(kinds[plural]!);
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5 characters that generateName and the ReplicaSet controller append. */
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE[randomInt(SAFE.length)];
  return out;
}

/** rand.SafeEncodeString of the decimal FNV-1a hash: how pod-template-hash looks. */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(JSON.stringify(template))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return String(h)
    .split('')
    .map((c) => SAFE[c.charCodeAt(0) % SAFE.length])
    .join('');
}

function qosClass(spec: Json): string {
  const containers: Json[] = spec?.containers ?? [];
  const has = (c: Json, kind: string) => Object.keys(c.resources?.[kind] ?? {}).some((r) => r === 'cpu' || r === 'memory');
  if (containers.every((c) => !has(c, 'requests') && !has(c, 'limits'))) return 'BestEffort';
  const guaranteed = containers.every((c) =>
    ['cpu', 'memory'].every((r) => c.resources?.limits?.[r] !== undefined && c.resources?.limits?.[r] === c.resources?.requests?.[r]),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ---------------------------------------------------------------- patches

export function mergePatch(target: Json, patch: Json): Json {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out = typeof target === 'object' && target !== null && !Array.isArray(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function applyJsonPatch(doc: Json, ops: Json[]): Json {
  const fail = (message: string): never => {
    throw failure(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
  };
  const parse = (path: string): string[] =>
    path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const op of ops) {
    const parts = parse(String(op.path ?? ''));
    const last = parts.pop();
    if (last === undefined) fail(`invalid path ${op.path}`);
    let parent = doc;
    for (const p of parts) {
      parent = parent?.[p];
      if (parent === undefined) fail(`missing path ${op.path}`);
    }
    const key = Array.isArray(parent) && last !== '-' ? Number(last) : last!;
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : (key as number), 0, op.value);
        else parent[key] = op.value;
        break;
      case 'replace':
        if (!(key in parent)) fail(`replace operation does not apply: doc is missing key: ${op.path}`);
        parent[key] = op.value;
        break;
      case 'remove':
        if (!(key in parent)) fail(`remove operation does not apply: doc is missing key: ${op.path}`);
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case 'test':
        if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) fail(`testing value ${op.path} failed`);
        break;
      default:
        fail(`unsupported operation ${op.op}`);
    }
  }
  return doc;
}
