// The resources that the stand-in serves, with where they live in the API.

/** A stored object, as JSON. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // Each kind's own fields (spec, status, data, ...): JSON, validated by the schemas.
  [field: string]: any;
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface ResourceType {
  /** URL path segment and "kind" of Status details: "deployments". */
  plural: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  /** Has a status subresource: writes to the main resource leave status alone. */
  hasStatus: boolean;
  /** Has metadata.generation, bumped on spec changes. */
  hasGeneration: boolean;
  /** DELETE answers the object (true) or a Status (false), as the real registries do. */
  returnsDeletedObject: boolean;
}

function resource(r: Omit<ResourceType, 'version'> & { version?: string }): ResourceType {
  return { version: 'v1', ...r };
}

export const RESOURCES: readonly ResourceType[] = [
  resource({
    plural: 'namespaces',
    kind: 'Namespace',
    group: '',
    namespaced: false,
    hasStatus: true,
    hasGeneration: false,
    returnsDeletedObject: true,
  }),
  resource({
    plural: 'nodes',
    kind: 'Node',
    group: '',
    namespaced: false,
    hasStatus: true,
    hasGeneration: false,
    returnsDeletedObject: false,
  }),
  resource({ plural: 'pods', kind: 'Pod', group: '', namespaced: true, hasStatus: true, hasGeneration: false, returnsDeletedObject: true }),
  resource({
    plural: 'services',
    kind: 'Service',
    group: '',
    namespaced: true,
    hasStatus: true,
    hasGeneration: false,
    returnsDeletedObject: true,
  }),
  resource({
    plural: 'secrets',
    kind: 'Secret',
    group: '',
    namespaced: true,
    hasStatus: false,
    hasGeneration: false,
    returnsDeletedObject: false,
  }),
  resource({
    plural: 'deployments',
    kind: 'Deployment',
    group: 'apps',
    namespaced: true,
    hasStatus: true,
    hasGeneration: true,
    returnsDeletedObject: false,
  }),
  resource({
    plural: 'replicasets',
    kind: 'ReplicaSet',
    group: 'apps',
    namespaced: true,
    hasStatus: true,
    hasGeneration: true,
    returnsDeletedObject: false,
  }),
];

export function apiVersionOf(res: ResourceType): string {
  return res.group === '' ? res.version : `${res.group}/${res.version}`;
}

export function findResource(group: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}

export function resourceOfKind(kind: string): ResourceType {
  const res = RESOURCES.find((r) => r.kind === kind);
  if (!res) throw new Error(`unknown kind ${kind}`);
  return res;
}

export const clone = <T>(value: T): T => structuredClone(value);

/** RFC 3339 with second precision, as metav1.Time marshals. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
