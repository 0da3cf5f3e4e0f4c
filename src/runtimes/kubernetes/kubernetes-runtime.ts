// The Kubernetes runtime: a process is a Deployment (1 replica), a Service for its ports, and an
// image pull Secret when it logs in to its registry, all named after it and labelled as ours in
// one namespace. The cluster is the only store; labels say what is ours. The KubeConfig comes
// from outside (a kubeconfig file, EKS or GKE), so this class does not care how it authenticates.
// It holds the runtime's logic; every API call goes through the client layer (api-client.ts).
import type { KubeConfig, V1Deployment, V1Node, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { HydroplaneError } from '../../errors.ts';
import { PROCESS_LABEL, labelSelector } from '../../labels.ts';
import { readSecret } from '../../secrets/resolve.ts';
import { SILENT_LOGGER, type RuntimeLogger } from '../logger.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import { labelValueProblem } from '../../spec/names.ts';
import { byProcessName, type ProcessInfo } from '../../spec/process-info.ts';
import type { ProcessSecret, ProcessSpec } from '../../spec/process-spec.ts';
import { GROUP_CONCURRENCY, settleBounded } from '../bounded.ts';
import { noText } from '../log-text.ts';
import {
  foreignEventId,
  type EventOptions,
  type ListFilter,
  type LogOptions,
  type Runtime,
  type RuntimeEvent,
  type RuntimeType,
} from '../runtime.ts';
import { KubeApiClient, type CallPurpose, type WatchTuning } from './api-client.ts';
import { EventFeed, parseCursor } from './event-feed.ts';
import { KnownProcesses, type KnownProcess } from './known-processes.ts';
import { processManifests, pullSecretName, resolveRegistryCredentials, usesOwnPullSecret, type RegistryCredentials } from './manifests.ts';
import { currentPod, isPublic, processInfo } from './process-status.ts';
import { startRecord } from '../start-record.ts';

export interface KubernetesRuntimeOptions {
  /** Where the processes live; the namespace must exist. */
  namespace: string;
  /** Reads a process secret from the secret store: needed for specs that log in to a registry with one. */
  resolveSecret?: (ref: ProcessSecret) => Promise<string>;
  /** 'kubernetes' (default), 'eks' or 'gke': named in errors. */
  type?: RuntimeType;
  logger?: RuntimeLogger | undefined;
  /** Longest wait for one API call. Default 30 s. */
  requestTimeoutMs?: number;
  /** How the event feed's watches keep themselves open (object-watch.ts); the defaults suit a cluster. */
  watch?: WatchTuning;
}

/** resolveSecret over a secret store. */
export function secretResolver(store: SecretStore): (ref: ProcessSecret) => Promise<string> {
  return (ref) => readSecret(store, ref);
}

/** Whether an object carries the process label of `name`: ours, for that process. */
const isLabelledFor = (obj: { metadata?: { labels?: Record<string, string> } } | undefined, name: string): boolean =>
  obj?.metadata?.labels?.[PROCESS_LABEL] === name;

/**
 * Whether a name or group can be a label value, as every process's name and group are here: one
 * that cannot (longer than 63, or ending in '-', '.' or '_') names nothing, and in a label selector
 * the API server would refuse it with a 400.
 */
const canBeLabel = (value: string): boolean => value !== '' && labelValueProblem(value) === undefined;

/**
 * The process a Deployment or Service is, by the one identity every operation uses: its process
 * label, when that label is also its own name (as Hydroplane and the original create them). An
 * object labelled for one process but named otherwise is nobody's: listing it under its label while
 * get and stop act on the object of that name would act on something else.
 */
const processOf = (obj: { metadata?: { name?: string; labels?: Record<string, string> } }): string | undefined => {
  const name = obj.metadata?.labels?.[PROCESS_LABEL];
  return name !== undefined && obj.metadata?.name === name ? name : undefined;
};

/** Objects by the process they are (processOf); the first of a name wins, as a find would. */
function ownObjects<T extends { metadata?: { name?: string; labels?: Record<string, string> } }>(objects: readonly T[]): Map<string, T> {
  const byName = new Map<string, T>();
  for (const o of objects) {
    const name = processOf(o);
    if (name !== undefined && !byName.has(name)) byName.set(name, o);
  }
  return byName;
}

/** A container that has never run has no log yet (the API answers 400 "waiting to start"). */
function notStartedYet(pod: V1Pod, container: string): boolean {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (!status) return true;
  return status.state?.waiting !== undefined && status.restartCount === 0 && !status.lastState?.terminated;
}

/** No events, ending when `signal` aborts (at once without one). */
function quietFeed(signal: AbortSignal | undefined): AsyncIterable<RuntimeEvent> {
  const aborted = new Promise<void>((resolve) => {
    if (!signal || signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<RuntimeEvent>> => {
        await aborted;
        return { done: true, value: undefined };
      },
    }),
  };
}

export class KubernetesRuntime implements Runtime {
  readonly type: RuntimeType;
  readonly namespace: string;
  readonly #client: KubeApiClient;
  readonly #resolveSecret: ((ref: ProcessSecret) => Promise<string>) | undefined;
  readonly #logger: RuntimeLogger;
  readonly #watchTuning: WatchTuning;
  readonly #feeds = new Set<EventFeed>();
  /** The uids a stop can delete by at once (known-processes.ts). */
  readonly #known = new KnownProcesses();
  #warnedNodes = false;

  constructor(kubeConfig: KubeConfig, options: KubernetesRuntimeOptions) {
    this.type = options.type ?? 'kubernetes';
    this.namespace = options.namespace;
    this.#client = new KubeApiClient(kubeConfig, {
      runtime: this.type,
      namespace: options.namespace,
      timeoutMs: options.requestTimeoutMs ?? 30_000,
    });
    this.#resolveSecret = options.resolveSecret;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.#watchTuning = options.watch ?? {};
  }

  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    const name = spec.process_name;
    const purpose: CallPurpose = { action: `starting process '${name}'`, processName: name };
    const credentials = await this.#credentials(spec);
    const manifests = processManifests(spec, this.namespace, credentials, startRecord(spec, new Date()));
    const undo: Array<{ what: string; run: () => Promise<unknown> }> = [];
    try {
      if (manifests.pullSecret) {
        const created = await this.#createPullSecret(manifests.pullSecret, purpose);
        if (created) undo.push({ what: `Secret '${name}'`, run: () => this.#client.deleteSecret(created, purpose) });
      }
      const deployment = await this.#createDeployment(manifests.deployment, purpose);
      undo.push({ what: `Deployment '${name}'`, run: () => this.#client.deleteDeployment(deployment, purpose) });
      const service = manifests.service ? await this.#createService(manifests.service, deployment, purpose) : undefined;
      this.#known.remember(name, deployment, service);
      this.#logger.info({ process: name, namespace: this.namespace, image: spec.container.image_uri }, 'process started');
      return processInfo({ deployment, pods: [], service }, new Map());
    } catch (err) {
      // Nothing is left behind: undo what this start created, newest first.
      for (const step of undo.reverse()) {
        try {
          await step.run();
        } catch (undoErr) {
          this.#logger.error({ process: name, err: undoErr }, `could not remove ${step.what} after a failed start`);
        }
      }
      throw err;
    }
  }

  /**
   * The Deployment and the Service read by name and the pods listed by the process's label, at
   * once: the same answer as the list's for this name (a label list of Deployments and Services
   * scans every one in the namespace on the API server; a read by name is one key).
   */
  async get(name: string): Promise<ProcessInfo | undefined> {
    if (!canBeLabel(name)) return undefined;
    const purpose: CallPurpose = { action: `looking up process '${name}'`, processName: name };
    const [deployment, pods, service] = await Promise.all([
      this.#client.readDeployment(name, purpose),
      this.#client.listPods(labelSelector({ processName: name }), purpose.action),
      this.#client.readService(name, purpose),
    ]);
    if (!deployment || !isLabelledFor(deployment, name)) return undefined;
    const ourService = isLabelledFor(service, name) ? service : undefined;
    this.#known.remember(name, deployment, ourService);
    const nodes = new Map<string, V1Node>();
    if (isPublic(ourService) && pods.some((p) => p.spec?.nodeName)) {
      for (const node of await this.#nodes(purpose.action)) if (node.metadata?.name) nodes.set(node.metadata.name, node);
    }
    return processInfo({ deployment, pods, service: ourService }, nodes);
  }

  async list(filter: ListFilter = {}): Promise<ProcessInfo[]> {
    if (filter.group !== undefined && !canBeLabel(filter.group)) return [];
    const action = filter.group === undefined ? 'listing processes' : `listing group '${filter.group}'`;
    return this.#collect(labelSelector(filter.group === undefined ? {} : { group: filter.group }), action);
  }

  async stop(name: string): Promise<void> {
    if (!canBeLabel(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const purpose: CallPurpose = { action: `stopping process '${name}'`, processName: name };
    // Seen by this server as its own: one delete per object, by uid, and no read.
    const known = this.#known.take(name);
    const removedKnown = known ? await this.#removeKnown(known, purpose) : 'nothing';
    if (removedKnown === 'all') {
      this.#logger.info({ process: name, namespace: this.namespace }, 'process stopped');
      return;
    }
    const [deployment, service] = await Promise.all([this.#client.readDeployment(name, purpose), this.#client.readService(name, purpose)]);
    // Only what carries our label: a same-named object of someone else's is left alone.
    const ourDeployment = isLabelledFor(deployment, name) ? deployment : undefined;
    const ourService = isLabelledFor(service, name) ? service : undefined;
    if (!ourDeployment && !ourService && removedKnown === 'nothing') {
      const foreign = deployment ?? service;
      const note = foreign
        ? `: a ${deployment ? 'Deployment' : 'Service'} of that name exists in namespace '${this.namespace}', but Hydroplane does not manage it, so it is left alone`
        : '';
      throw new HydroplaneError('process_not_found', `no process named '${name}'${note}`);
    }
    await this.#remove(name, ourDeployment, ourService, purpose.action);
    this.#logger.info({ process: name, namespace: this.namespace }, 'process stopped');
  }

  /** The log of the process's current pod (process-status.ts's currentPod, the one its status speaks of). */
  async logs(name: string, options: LogOptions = {}): Promise<AsyncIterable<string>> {
    if (!canBeLabel(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const purpose: CallPurpose = { action: `reading the logs of process '${name}'`, processName: name };
    const [deployment, pods] = await Promise.all([
      this.#client.readDeployment(name, purpose),
      this.#client.listPods(labelSelector({ processName: name }), purpose.action),
    ]);
    if (!isLabelledFor(deployment, name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const pod = currentPod(pods);
    const container = pod?.spec?.containers[0]?.name;
    if (!pod || container === undefined || notStartedYet(pod, container)) return noText();
    return this.#client.podLog(
      {
        pod: pod.metadata!.name!,
        container,
        follow: options.follow ?? false,
        timestamps: options.timestamps ?? false,
        ...(options.tail === undefined ? {} : { tailLines: options.tail }),
        // The API counts in whole seconds, and only forwards.
        ...(options.since === undefined ? {} : { sinceSeconds: Math.max(1, Math.ceil((Date.now() - options.since.getTime()) / 1000)) }),
      },
      purpose,
      options.signal,
    );
  }

  async stopGroup(group: string): Promise<string[]> {
    if (!canBeLabel(group)) return [];
    const action = `stopping group '${group}'`;
    const selector = labelSelector({ group });
    const [deployments, services] = await Promise.all([
      this.#client.listDeployments(selector, action),
      this.#client.listServices(selector, action),
    ]);
    const names = new Set<string>();
    for (const o of [...deployments, ...services]) {
      const name = processOf(o);
      if (name !== undefined) names.add(name);
    }
    // Each process's own objects, by name (a find per process was quadratic in the group's size).
    const deploymentOf = ownObjects(deployments);
    const serviceOf = ownObjects(services);
    // Bounded: a thousand processes' deletes at once only queue in the API server (and may meet its
    // rate limits), each holding a connection.
    const results = await settleBounded([...names], GROUP_CONCURRENCY, (name) =>
      this.#remove(name, deploymentOf.get(name), serviceOf.get(name), action),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const stopped = deployments.flatMap((d) => processOf(d) ?? []).sort();
    this.#logger.info({ group, processes: stopped }, 'group stopped');
    return stopped;
  }

  /** A list of at most one of our Deployments: the API server answers, and this account may list in the namespace. */
  async ping(): Promise<void> {
    await this.#client.listDeployments(labelSelector({}), 'checking that the API server answers', 1);
  }

  /**
   * Process events from watches on Hydroplane's Deployments and pods (event-feed.ts; what each
   * type means here: process-events.ts). Ids are cursors of both watches; `after` one of them
   * resumes there, or, when the cluster no longer has that version (410 Gone), lists again and
   * tells what changed as far as the objects still show it. Resolves once both watches are open.
   */
  async events(options: EventOptions = {}): Promise<AsyncIterable<RuntimeEvent>> {
    const { filter = {}, signal } = options;
    const after = options.after === undefined ? undefined : parseCursor(options.after);
    if (options.after !== undefined && after === undefined) {
      throw foreignEventId(this.type, 'k8s.<cursor>');
    }
    // A name or group that cannot be a label names no process: a feed that stays quiet.
    if (
      (filter.processName !== undefined && !canBeLabel(filter.processName)) ||
      (filter.group !== undefined && !canBeLabel(filter.group))
    ) {
      return quietFeed(signal);
    }
    if (signal?.aborted) return quietFeed(signal);
    const feed: EventFeed = new EventFeed({
      client: this.#client,
      labelSelector: labelSelector(filter),
      after,
      signal,
      tuning: this.#watchTuning,
      logger: this.#logger,
      onEnd: () => this.#feeds.delete(feed),
    });
    this.#feeds.add(feed);
    await feed.open();
    return feed.iterate();
  }

  async close(): Promise<void> {
    // Each call is its own request; only event feeds hold connections.
    for (const feed of this.#feeds) feed.end();
  }

  /** One list per resource whatever the number of processes, plus the nodes when a process is public. */
  async #collect(selector: string, action: string): Promise<ProcessInfo[]> {
    const [deployments, pods, services] = await Promise.all([
      this.#client.listDeployments(selector, action),
      this.#client.listPods(selector, action),
      this.#client.listServices(selector, action),
    ]);
    const podsOf = new Map<string, V1Pod[]>();
    for (const pod of pods) {
      const name = pod.metadata?.labels?.[PROCESS_LABEL];
      if (name === undefined) continue;
      const list = podsOf.get(name);
      if (list === undefined) podsOf.set(name, [pod]);
      else list.push(pod);
    }
    const serviceOf = new Map<string, V1Service>();
    for (const service of services) {
      const name = processOf(service);
      if (name !== undefined) serviceOf.set(name, service);
    }
    const ours = deployments.flatMap((deployment) => {
      const name = processOf(deployment);
      return name === undefined ? [] : [{ name, deployment }];
    });
    for (const { name, deployment } of ours) this.#known.remember(name, deployment, serviceOf.get(name));
    const nodes = new Map<string, V1Node>();
    const needNodes = ours.some(({ name }) => isPublic(serviceOf.get(name)) && (podsOf.get(name) ?? []).some((p) => p.spec?.nodeName));
    if (needNodes) for (const node of await this.#nodes(action)) if (node.metadata?.name) nodes.set(node.metadata.name, node);
    return ours
      .map(({ name, deployment }) => processInfo({ deployment, pods: podsOf.get(name) ?? [], service: serviceOf.get(name) }, nodes))
      .sort(byProcessName);
  }

  /**
   * The cluster's nodes, for the external IPs of public processes. Listing them needs a
   * ClusterRole; an account limited to its namespace may not. Then the list goes on without them:
   * a public process is reported at its pod's hostIP (the node's internal IP), and a warning, once
   * per runtime, says what to grant.
   */
  async #nodes(action: string): Promise<V1Node[]> {
    const nodes = await this.#client.listNodes(action);
    if (nodes !== undefined) return nodes;
    if (!this.#warnedNodes) {
      this.#warnedNodes = true;
      this.#logger.warn(
        { namespace: this.namespace },
        "cannot list the cluster's nodes (forbidden): public processes are shown at their nodes' internal IPs; " +
          'to show external IPs, grant the server list on nodes (a ClusterRole, see src/runtimes/kubernetes/README.md)',
      );
    }
    return [];
  }

  async #credentials(spec: ProcessSpec): Promise<RegistryCredentials | undefined> {
    const resolve = this.#resolveSecret;
    return resolveRegistryCredentials(spec, async (ref) => {
      if (!resolve) {
        throw new HydroplaneError(
          'secrets_unavailable',
          `process '${spec.process_name}' logs in to its registry with secret '${ref.secret_name}', but this ${this.type} runtime has no secret store`,
        );
      }
      return resolve(ref);
    });
  }

  /** Creates the pull Secret; returns it, or undefined when a leftover of ours was reused. */
  async #createPullSecret(secret: V1Secret, purpose: CallPurpose): Promise<V1Secret | undefined> {
    const name = purpose.processName;
    const result = await this.#client.createSecret(secret, purpose);
    if ('created' in result) return result.created;
    // The name is taken: by the live process of that name, by a leftover of ours, or by someone else.
    const live = await this.#client.readDeployment(name, purpose);
    if (isLabelledFor(live, name)) throw new HydroplaneError('process_exists', `a process named '${name}' already exists`);
    const existing = await this.#client.readSecret(pullSecretName(name), purpose);
    if (existing === undefined) {
      throw new HydroplaneError(
        'runtime_error',
        `cannot start process '${name}': its image pull Secret '${pullSecretName(name)}' existed a moment ago and is gone now; try again`,
      );
    }
    if (!isLabelledFor(existing, name)) {
      throw new HydroplaneError(
        'name_taken',
        `cannot start process '${name}': its image pull Secret would be named '${pullSecretName(name)}', and a Secret of that name ` +
          `that Hydroplane does not manage exists in namespace '${this.namespace}'; rename the process or that Secret`,
      );
    }
    // Our own manifest, taking over the leftover: the API refuses the replace if it changed since the read.
    const replacement = structuredClone(secret);
    replacement.metadata ??= {};
    replacement.metadata.resourceVersion = existing.metadata?.resourceVersion;
    await this.#client.replaceSecret(replacement, purpose);
    return undefined;
  }

  #nameTaken(kind: 'Deployment' | 'Service', name: string): HydroplaneError {
    return new HydroplaneError(
      'name_taken',
      `cannot start process '${name}': a ${kind} of that name that Hydroplane does not manage exists in namespace '${this.namespace}'`,
    );
  }

  async #createDeployment(deployment: V1Deployment, purpose: CallPurpose): Promise<V1Deployment> {
    const result = await this.#client.createDeployment(deployment, purpose);
    if ('created' in result) return result.created;
    const existing = await this.#client.readDeployment(purpose.processName, purpose);
    if (existing && !isLabelledFor(existing, purpose.processName)) throw this.#nameTaken('Deployment', purpose.processName);
    throw result.alreadyExists;
  }

  async #createService(service: V1Service, deployment: V1Deployment, purpose: CallPurpose): Promise<V1Service> {
    const name = purpose.processName;
    const first = await this.#client.createService(service, purpose);
    if ('created' in first) return first.created;
    // The Deployment was just created, so no live process has the name: the Service is a leftover
    // of a half-stopped process (ours: replace it) or someone else's (leave it).
    const existing = await this.#client.readService(name, purpose);
    if (existing && !isLabelledFor(existing, name)) throw this.#nameTaken('Service', name);
    if (existing) {
      // Unless another request stopped this start's Deployment meanwhile (an apply replacing it)
      // and started its own: then the Service is that process's, and this start has lost the name.
      const current = await this.#client.readDeployment(name, purpose);
      if (current?.metadata?.uid !== deployment.metadata?.uid) {
        throw new HydroplaneError(
          'process_exists',
          `process '${name}' was stopped or replaced by another request while it was starting; look at it again (GET) or try again`,
        );
      }
      await this.#client.deleteService(existing, purpose);
    }
    const second = await this.#client.createService(service, purpose);
    if ('created' in second) return second.created;
    throw second.alreadyExists;
  }

  /** Deletes what a process has; each object was checked to be ours, and the uid precondition keeps it so. */
  async #remove(name: string, deployment: V1Deployment | undefined, service: V1Service | undefined, action: string): Promise<void> {
    const purpose: CallPurpose = { action, processName: name };
    this.#known.forget(name);
    const usesPullSecret = usesOwnPullSecret(name, deployment);
    await Promise.all([
      deployment ? this.#client.deleteDeployment(deployment, purpose) : undefined,
      service ? this.#client.deleteService(service, purpose) : undefined,
      usesPullSecret ? this.#deletePullSecretOf(purpose) : undefined,
    ]);
  }

  /**
   * Deletes a process's objects by the uids this server saw, at once. 'all' when its Deployment was
   * still that one (and is deleted now, with its Service and pull Secret); else what the stop must
   * still look at: 'nothing' was deleted, or 'some' (the Service, whose Deployment had gone).
   */
  async #removeKnown(known: KnownProcess, purpose: CallPurpose): Promise<'all' | 'some' | 'nothing'> {
    const name = purpose.processName;
    const [deployment, service] = await Promise.all([
      this.#client.deleteDeployment({ metadata: { name, uid: known.deploymentUid } }, purpose),
      known.serviceUid === undefined ? undefined : this.#client.deleteService({ metadata: { name, uid: known.serviceUid } }, purpose),
    ]);
    if (deployment !== 'deleted') return service === 'deleted' ? 'some' : 'nothing';
    // A Service that is gone or another one now is not this process's any more: left as it is.
    if (known.usesPullSecret) await this.#deletePullSecretOf(purpose);
    return 'all';
  }

  async #deletePullSecretOf(purpose: CallPurpose): Promise<void> {
    const secret = await this.#client.readSecret(pullSecretName(purpose.processName), purpose);
    if (secret && isLabelledFor(secret, purpose.processName)) await this.#client.deleteSecret(secret, purpose);
  }
}
