// The Kubernetes runtime: a process is a Deployment (1 replica), a Service for its ports, and an
// image pull Secret when it logs in to its registry, all named after it and labelled as ours in
// one namespace. The cluster is the only store; labels say what is ours. The KubeConfig comes
// from outside (a kubeconfig file, EKS or GKE), so this class does not care how it authenticates.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  AppsV1Api,
  CoreV1Api,
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1Deployment,
  type V1Node,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { HydroplaneError } from '../../errors.ts';
import { PROCESS_LABEL, labelSelector } from '../../labels.ts';
import { readSecret } from '../../secrets/resolve.ts';
import { SILENT_LOGGER, type RuntimeLogger } from '../logger.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import { labelValueProblem } from '../../spec/names.ts';
import type { ProcessInfo } from '../../spec/process-info.ts';
import type { ProcessSecret, ProcessSpec } from '../../spec/process-spec.ts';
import { logText, noText, utf8Text } from '../log-text.ts';
import type { ListFilter, LogOptions, Runtime, RuntimeType } from '../runtime.ts';
import { apiFailure, isAlreadyExists, isForbidden, isNotFound, translateKubeError, type KubeErrorContext } from './errors.ts';
import { processManifests, pullSecretName, resolveRegistryCredentials, type RegistryCredentials } from './manifests.ts';
import { openPodLog } from './pod-log.ts';
import { isPublic, processInfo } from './process-status.ts';

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
}

/** resolveSecret over a secret store. */
export function secretResolver(store: SecretStore): (ref: ProcessSecret) => Promise<string> {
  return (ref) => readSecret(store, ref);
}

const isOurs = (obj: { metadata?: { labels?: Record<string, string> } } | undefined, name: string): boolean =>
  obj?.metadata?.labels?.[PROCESS_LABEL] === name;

/**
 * The process a Deployment or Service is, by the one identity every operation uses: its process
 * label, when that label is also its own name (as Hydroplane and the original create them). An
 * object labelled for one process but named otherwise is nobody's: listing it under its label while
 * get and stop act on the object of that name would act on something else.
 */
/**
 * Whether a name or group can be a label value, as every process's name and group are here: one
 * that cannot (longer than 63, or ending in '-', '.' or '_') names nothing, and in a label selector
 * the API server would refuse it with a 400.
 */
const canBeLabel = (value: string): boolean => value !== '' && labelValueProblem(value) === undefined;

const processOf = (obj: { metadata?: { name?: string; labels?: Record<string, string> } }): string | undefined => {
  const name = obj.metadata?.labels?.[PROCESS_LABEL];
  return name !== undefined && obj.metadata?.name === name ? name : undefined;
};

/** The pod whose log is the process's: not being deleted, else any; the newest. */
function currentPod(pods: V1Pod[]): V1Pod | undefined {
  const time = (p: V1Pod) => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0);
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  return (live.length > 0 ? live : pods).sort((a, b) => time(b) - time(a))[0];
}

/** A container that has never run has no log yet (the API answers 400 "waiting to start"). */
function notStartedYet(pod: V1Pod, container: string): boolean {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (!status) return true;
  return status.state?.waiting !== undefined && status.restartCount === 0 && !status.lastState?.terminated;
}

const byName = (a: ProcessInfo, b: ProcessInfo) => (a.process_name < b.process_name ? -1 : a.process_name > b.process_name ? 1 : 0);

export class KubernetesRuntime implements Runtime {
  readonly type: RuntimeType;
  readonly namespace: string;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #kubeConfig: KubeConfig;
  readonly #server: string;
  readonly #resolveSecret: ((ref: ProcessSecret) => Promise<string>) | undefined;
  readonly #logger: RuntimeLogger;
  #warnedNodes = false;
  readonly #timeoutMs: number;
  readonly #callOptions: ConfigurationOptions;

  constructor(kubeConfig: KubeConfig, options: KubernetesRuntimeOptions) {
    this.type = options.type ?? 'kubernetes';
    this.namespace = options.namespace;
    this.#server = kubeConfig.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
    this.#kubeConfig = kubeConfig;
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#resolveSecret = options.resolveSecret;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    const timeoutMs = this.#timeoutMs;
    // client-node has no per-call timeout; a middleware gives every request its own deadline.
    this.#callOptions = {
      middleware: [
        {
          pre: (request: RequestContext) => {
            request.setSignal(AbortSignal.timeout(timeoutMs));
            return new Observable(Promise.resolve(request));
          },
          post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    const name = spec.process_name;
    const action = `starting process '${name}'`;
    const credentials = await this.#credentials(spec);
    const manifests = processManifests(spec, this.namespace, credentials);
    const undo: Array<{ what: string; run: () => Promise<void> }> = [];
    try {
      if (manifests.pullSecret) {
        const created = await this.#createPullSecret(manifests.pullSecret, name, action);
        if (created) undo.push({ what: `Secret '${name}'`, run: () => this.#deleteSecret(created, action) });
      }
      const deployment = await this.#createDeployment(manifests.deployment, name, action);
      undo.push({ what: `Deployment '${name}'`, run: () => this.#deleteDeployment(deployment, action) });
      const service = manifests.service ? await this.#createService(manifests.service, name, action) : undefined;
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

  async get(name: string): Promise<ProcessInfo | undefined> {
    if (!canBeLabel(name)) return undefined;
    const infos = await this.#collect(labelSelector({ processName: name }), `looking up process '${name}'`);
    return infos.find((p) => p.process_name === name);
  }

  async list(filter: ListFilter = {}): Promise<ProcessInfo[]> {
    if (filter.group !== undefined && !canBeLabel(filter.group)) return [];
    const action = filter.group === undefined ? 'listing processes' : `listing group '${filter.group}'`;
    return this.#collect(labelSelector(filter.group === undefined ? {} : { group: filter.group }), action);
  }

  async stop(name: string): Promise<void> {
    if (!canBeLabel(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const action = `stopping process '${name}'`;
    const [deployment, service] = await Promise.all([
      this.#maybe(this.#ctx(action, 'get', 'deployments', name), () =>
        this.#apps.readNamespacedDeployment({ namespace: this.namespace, name }, this.#callOptions),
      ),
      this.#maybe(this.#ctx(action, 'get', 'services', name), () =>
        this.#core.readNamespacedService({ namespace: this.namespace, name }, this.#callOptions),
      ),
    ]);
    // Only what carries our label: a same-named object of someone else's is left alone.
    const ourDeployment = isOurs(deployment, name) ? deployment : undefined;
    const ourService = isOurs(service, name) ? service : undefined;
    if (!ourDeployment && !ourService) {
      const foreign = deployment ?? service;
      const note = foreign
        ? `: a ${deployment ? 'Deployment' : 'Service'} of that name exists in namespace '${this.namespace}', but Hydroplane does not manage it, so it is left alone`
        : '';
      throw new HydroplaneError('process_not_found', `no process named '${name}'${note}`);
    }
    await this.#remove(name, ourDeployment, ourService, action);
    this.#logger.info({ process: name, namespace: this.namespace }, 'process stopped');
  }

  /** The log of the process's current pod: the newest one that is not being deleted. */
  async logs(name: string, options: LogOptions = {}): Promise<AsyncIterable<string>> {
    if (!canBeLabel(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const action = `reading the logs of process '${name}'`;
    const [deployment, pods] = await Promise.all([
      this.#maybe(this.#ctx(action, 'get', 'deployments', name), () =>
        this.#apps.readNamespacedDeployment({ namespace: this.namespace, name }, this.#callOptions),
      ),
      this.#api(this.#ctx(action, 'list', 'pods'), () =>
        this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector: labelSelector({ processName: name }) }, this.#callOptions),
      ),
    ]);
    if (!isOurs(deployment, name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    const pod = currentPod(pods.items);
    const container = pod?.spec?.containers[0]?.name;
    if (!pod || container === undefined || notStartedYet(pod, container)) return noText();

    const { signal } = options;
    const ctx = this.#ctx(action, 'get', 'pods/log', name);
    let stream;
    try {
      stream = await openPodLog(
        this.#kubeConfig,
        {
          namespace: this.namespace,
          pod: pod.metadata!.name!,
          container,
          follow: options.follow ?? false,
          timestamps: options.timestamps ?? false,
          ...(options.tail === undefined ? {} : { tailLines: options.tail }),
          // The API counts in whole seconds, and only forwards.
          ...(options.since === undefined ? {} : { sinceSeconds: Math.max(1, Math.ceil((Date.now() - options.since.getTime()) / 1000)) }),
        },
        this.#timeoutMs,
        signal,
      );
    } catch (err) {
      if (signal?.aborted) return noText();
      // Between the list and this call the container may have gone back to waiting (a restart).
      if (apiFailure(err).code === 400 && /waiting to start|PodInitializing/i.test(apiFailure(err).text)) return noText();
      if (isNotFound(err)) return noText();
      throw translateKubeError(err, ctx);
    }
    return logText(stream, utf8Text, signal, (err) => translateKubeError(err, ctx));
  }

  async stopGroup(group: string): Promise<string[]> {
    if (!canBeLabel(group)) return [];
    const action = `stopping group '${group}'`;
    const selector = labelSelector({ group });
    const [deployments, services] = await Promise.all([
      this.#api(this.#ctx(action, 'list', 'deployments'), () =>
        this.#apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: selector }, this.#callOptions),
      ),
      this.#api(this.#ctx(action, 'list', 'services'), () =>
        this.#core.listNamespacedService({ namespace: this.namespace, labelSelector: selector }, this.#callOptions),
      ),
    ]);
    const names = new Set<string>();
    for (const o of [...deployments.items, ...services.items]) {
      const name = processOf(o);
      if (name !== undefined) names.add(name);
    }
    const results = await Promise.allSettled(
      [...names].map((name) =>
        this.#remove(
          name,
          deployments.items.find((d) => isOurs(d, name) && d.metadata?.name === name),
          services.items.find((s) => isOurs(s, name) && s.metadata?.name === name),
          action,
        ),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const stopped = deployments.items.flatMap((d) => processOf(d) ?? []).sort();
    this.#logger.info({ group, processes: stopped }, 'group stopped');
    return stopped;
  }

  async close(): Promise<void> {
    // Nothing to release: each call is its own request; the state is the cluster's.
  }

  /** One list per resource whatever the number of processes, plus the nodes when a process is public. */
  async #collect(selector: string, action: string): Promise<ProcessInfo[]> {
    const ns = this.namespace;
    const [deployments, pods, services] = await Promise.all([
      this.#api(this.#ctx(action, 'list', 'deployments'), () =>
        this.#apps.listNamespacedDeployment({ namespace: ns, labelSelector: selector }, this.#callOptions),
      ),
      this.#api(this.#ctx(action, 'list', 'pods'), () =>
        this.#core.listNamespacedPod({ namespace: ns, labelSelector: selector }, this.#callOptions),
      ),
      this.#api(this.#ctx(action, 'list', 'services'), () =>
        this.#core.listNamespacedService({ namespace: ns, labelSelector: selector }, this.#callOptions),
      ),
    ]);
    const podsOf = new Map<string, V1Pod[]>();
    for (const pod of pods.items) {
      const name = pod.metadata?.labels?.[PROCESS_LABEL];
      if (name !== undefined) podsOf.set(name, [...(podsOf.get(name) ?? []), pod]);
    }
    const serviceOf = new Map<string, V1Service>();
    for (const service of services.items) {
      const name = processOf(service);
      if (name !== undefined) serviceOf.set(name, service);
    }
    const ours = deployments.items.flatMap((deployment) => {
      const name = processOf(deployment);
      return name === undefined ? [] : [{ name, deployment }];
    });
    const nodes = new Map<string, V1Node>();
    const needNodes = ours.some(({ name }) => isPublic(serviceOf.get(name)) && (podsOf.get(name) ?? []).some((p) => p.spec?.nodeName));
    if (needNodes) for (const node of await this.#nodes(action)) if (node.metadata?.name) nodes.set(node.metadata.name, node);
    return ours
      .map(({ name, deployment }) => processInfo({ deployment, pods: podsOf.get(name) ?? [], service: serviceOf.get(name) }, nodes))
      .sort(byName);
  }

  /**
   * The cluster's nodes, for the external IPs of public processes. Listing them needs a
   * ClusterRole; an account limited to its namespace may not. Then the list goes on without them:
   * a public process is reported at its pod's hostIP (the node's internal IP), and a warning, once
   * per runtime, says what to grant.
   */
  async #nodes(action: string): Promise<V1Node[]> {
    try {
      return (await this.#core.listNode({}, this.#callOptions)).items;
    } catch (err) {
      if (!isForbidden(err)) throw translateKubeError(err, this.#ctx(action, 'list', 'nodes'));
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
  async #createPullSecret(secret: V1Secret, name: string, action: string): Promise<V1Secret | undefined> {
    const ctx = this.#ctx(action, 'create', 'secrets', name);
    try {
      return await this.#core.createNamespacedSecret({ namespace: this.namespace, body: secret }, this.#callOptions);
    } catch (err) {
      if (!isAlreadyExists(err)) throw translateKubeError(err, ctx);
    }
    // The name is taken: by the live process of that name, by a leftover of ours, or by someone else.
    const live = await this.#maybe(this.#ctx(action, 'get', 'deployments', name), () =>
      this.#apps.readNamespacedDeployment({ namespace: this.namespace, name }, this.#callOptions),
    );
    if (isOurs(live, name)) throw new HydroplaneError('process_exists', `a process named '${name}' already exists`);
    const existing = await this.#api(this.#ctx(action, 'get', 'secrets', name), () =>
      this.#core.readNamespacedSecret({ namespace: this.namespace, name: pullSecretName(name) }, this.#callOptions),
    );
    if (!isOurs(existing, name)) {
      throw new HydroplaneError(
        'name_taken',
        `cannot start process '${name}': its image pull Secret would be named '${pullSecretName(name)}', and a Secret of that name ` +
          `that Hydroplane does not manage exists in namespace '${this.namespace}'; rename the process or that Secret`,
      );
    }
    const replacement: V1Secret = { ...secret, metadata: { ...secret.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    await this.#api(this.#ctx(action, 'update', 'secrets', name), () =>
      this.#core.replaceNamespacedSecret({ namespace: this.namespace, name: pullSecretName(name), body: replacement }, this.#callOptions),
    );
    return undefined;
  }

  #nameTaken(kind: 'Deployment' | 'Service', name: string): HydroplaneError {
    return new HydroplaneError(
      'name_taken',
      `cannot start process '${name}': a ${kind} of that name that Hydroplane does not manage exists in namespace '${this.namespace}'`,
    );
  }

  async #createDeployment(deployment: V1Deployment, name: string, action: string): Promise<V1Deployment> {
    try {
      return await this.#apps.createNamespacedDeployment({ namespace: this.namespace, body: deployment }, this.#callOptions);
    } catch (err) {
      if (isAlreadyExists(err)) {
        const existing = await this.#maybe(this.#ctx(action, 'get', 'deployments', name), () =>
          this.#apps.readNamespacedDeployment({ namespace: this.namespace, name }, this.#callOptions),
        );
        if (existing && !isOurs(existing, name)) {
          throw this.#nameTaken('Deployment', name);
        }
      }
      throw translateKubeError(err, this.#ctx(action, 'create', 'deployments', name));
    }
  }

  async #createService(service: V1Service, name: string, action: string): Promise<V1Service> {
    const ctx = this.#ctx(action, 'create', 'services', name);
    const create = () => this.#core.createNamespacedService({ namespace: this.namespace, body: service }, this.#callOptions);
    try {
      return await create();
    } catch (err) {
      if (!isAlreadyExists(err)) throw translateKubeError(err, ctx);
    }
    // The Deployment was just created, so no live process has the name: the Service is a leftover
    // of a half-stopped process (ours: replace it) or someone else's (leave it).
    const existing = await this.#maybe(this.#ctx(action, 'get', 'services', name), () =>
      this.#core.readNamespacedService({ namespace: this.namespace, name }, this.#callOptions),
    );
    if (existing && !isOurs(existing, name)) {
      throw this.#nameTaken('Service', name);
    }
    if (existing) await this.#deleteService(existing, action);
    return this.#api(ctx, create);
  }

  /** Deletes what a process has; each object was checked to be ours, and the uid precondition keeps it so. */
  async #remove(name: string, deployment: V1Deployment | undefined, service: V1Service | undefined, action: string): Promise<void> {
    const usesPullSecret = deployment?.spec?.template?.spec?.imagePullSecrets?.some((s) => s.name === pullSecretName(name)) ?? false;
    await Promise.all([
      deployment ? this.#deleteDeployment(deployment, action) : undefined,
      service ? this.#deleteService(service, action) : undefined,
      usesPullSecret ? this.#deletePullSecretOf(name, action) : undefined,
    ]);
  }

  async #deletePullSecretOf(name: string, action: string): Promise<void> {
    const secret = await this.#maybe(this.#ctx(action, 'get', 'secrets', name), () =>
      this.#core.readNamespacedSecret({ namespace: this.namespace, name: pullSecretName(name) }, this.#callOptions),
    );
    if (secret && isOurs(secret, name)) await this.#deleteSecret(secret, action);
  }

  #deleteDeployment(deployment: V1Deployment, action: string): Promise<void> {
    const name = deployment.metadata?.name ?? '';
    return this.#gone(this.#ctx(action, 'delete', 'deployments', name), () =>
      this.#apps.deleteNamespacedDeployment(
        { namespace: this.namespace, name, propagationPolicy: 'Background', body: { preconditions: { uid: deployment.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  #deleteService(service: V1Service, action: string): Promise<void> {
    const name = service.metadata?.name ?? '';
    return this.#gone(this.#ctx(action, 'delete', 'services', name), () =>
      this.#core.deleteNamespacedService(
        { namespace: this.namespace, name, body: { preconditions: { uid: service.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  #deleteSecret(secret: V1Secret, action: string): Promise<void> {
    const name = secret.metadata?.name ?? '';
    return this.#gone(this.#ctx(action, 'delete', 'secrets', name), () =>
      this.#core.deleteNamespacedSecret(
        { namespace: this.namespace, name, body: { preconditions: { uid: secret.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  #ctx(action: string, verb: string, resource: string, processName?: string): KubeErrorContext {
    const ctx: KubeErrorContext = {
      runtime: this.type,
      server: this.#server,
      namespace: this.namespace,
      action,
      verb,
      resource,
      timeoutMs: this.#timeoutMs,
    };
    if (processName !== undefined) ctx.processName = processName;
    return ctx;
  }

  async #api<T>(ctx: KubeErrorContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw translateKubeError(err, ctx);
    }
  }

  /** A read that answers undefined for 404. */
  async #maybe<T>(ctx: KubeErrorContext, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw translateKubeError(err, ctx);
    }
  }

  /** A delete for which "already gone" (404) and "replaced by another object" (uid precondition, 409) are success. */
  async #gone(ctx: KubeErrorContext, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (isNotFound(err)) return;
      const f = apiFailure(err);
      if (f.code === 409 && /precondition/i.test(f.text)) return;
      throw translateKubeError(err, ctx);
    }
  }
}
