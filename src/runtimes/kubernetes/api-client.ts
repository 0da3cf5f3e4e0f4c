// The Kubernetes API calls that the runtime makes in its namespace, over client-node's generated
// CoreV1Api and AppsV1Api (and pod-log.ts for logs): each call with its own deadline, each failure
// translated by errors.ts into a HydroplaneError naming the call and what the runtime was doing.
// Answers that are not failures to the runtime come back as values: a read of a missing object is
// undefined, a create of a taken name is `alreadyExists`, a delete of an object already gone is
// done, a list of nodes that RBAC refuses is undefined. Like Docker's engine-client.ts, it knows
// the API and nothing of processes; kubernetes-runtime.ts holds the runtime's logic.
import {
  AppsV1Api,
  CoreV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1Deployment,
  type V1Node,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import type { HydroplaneError } from '../../errors.ts';
import { logText, noText, utf8Text } from '../log-text.ts';
import type { RuntimeType } from '../runtime.ts';
import { apiFailure, isAlreadyExists, isForbidden, isGone, isNotFound, translateKubeError, type KubeErrorContext } from './errors.ts';
import { ObjectWatch, type ObjectWatchHandlers, type WatchedModel } from './object-watch.ts';
import { openPodLog, type PodLogQuery } from './pod-log.ts';

export interface KubeApiClientOptions {
  /** Named in errors: 'kubernetes', 'eks' or 'gke'. */
  runtime: RuntimeType;
  namespace: string;
  /** Longest wait for one call. */
  timeoutMs: number;
  /** Items a list call asks for at once; default LIST_PAGE. */
  pageSize?: number;
  /** How long calls share one dispatcher before the newest takes over; default POOL_LIFETIME_MS. */
  poolLifetimeMs?: number;
  /** The clock that the pool's lifetime is counted on, in ms; Date.now by default (tests set their own). */
  now?: () => number;
}

/** Why a call about one process is made, for its error: "starting process 'web'", and 'web'. */
export interface CallPurpose {
  action: string;
  processName: string;
}

/** What a create answers: the object made, or, when the name is taken, the error that says so. */
export type Created<T> = { created: T } | { alreadyExists: HydroplaneError };

/** An object to delete: its name, and the uid that the delete's precondition holds it to. */
export interface ObjectRef {
  metadata?: { name?: string; uid?: string };
}

/** What a delete by uid found: the object, deleted; nothing of that name; or another object of that name, left alone. */
export type DeleteOutcome = 'deleted' | 'gone' | 'replaced';

type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete';

/** A list's items and the resourceVersion it was read at, for a watch to start from. */
export interface Snapshot<T> {
  items: T[];
  resourceVersion: string;
}

/** How a watch keeps itself open; see object-watch.ts. */
export interface WatchTuning {
  /** Each connection asks the server to end it after this long; it is then opened again. Default 300. */
  timeoutSeconds?: number;
  /** Failed connections in a row before giving up. Default 5. */
  retries?: number;
  /** First wait before a retry, doubled each time. Default 250 ms. */
  retryDelayMs?: number;
}

/** Items a list call asks for at once: the page size that kubectl uses. */
export const LIST_PAGE = 500;

/** How long the calls share one dispatcher (its connections) before the newest takes over. */
export const POOL_LIFETIME_MS = 60_000;

/** One call of a list: the page it asks for, the items and the token of the next page it answers. */
export type PageCall<T> = (page: {
  limit: number;
  _continue?: string;
}) => Promise<{ items: T[]; metadata?: { _continue?: string; resourceVersion?: string } }>;

/**
 * A list, page by page (`pageSize` items a call, following `continue`), so that no one answer of
 * the API server, nor its memory, grows with the number of processes. With `first`, one page of
 * that many. A continue token that has expired (410 Gone) restarts the list once, from the top, as
 * the API conventions say a client must.
 */
export async function everyPage<T>(call: PageCall<T>, options: { pageSize: number; first?: number }): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    const items: T[] = [];
    let token: string | undefined;
    try {
      do {
        const list = await call({ limit: options.first ?? options.pageSize, ...(token === undefined ? {} : { _continue: token }) });
        items.push(...list.items);
        token = options.first === undefined ? list.metadata?._continue || undefined : undefined;
      } while (token !== undefined);
      return items;
    } catch (err) {
      if (attempt === 1 && token !== undefined && isGone(err)) continue;
      throw err;
    }
  }
}

export class KubeApiClient {
  readonly namespace: string;
  /** The API server's URL, as errors name it. */
  readonly server: string;
  readonly #runtime: RuntimeType;
  readonly #timeoutMs: number;
  readonly #pageSize: number;
  readonly #poolLifetimeMs: number;
  readonly #now: () => number;
  readonly #kubeConfig: KubeConfig;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #callOptions: ConfigurationOptions;
  /** The dispatcher that the calls share (#shareConnections), and since when. */
  #shared: { dispatcher: Dispatcher; since: number } | undefined;

  constructor(kubeConfig: KubeConfig, options: KubeApiClientOptions) {
    this.namespace = options.namespace;
    this.server = kubeConfig.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
    this.#runtime = options.runtime;
    this.#timeoutMs = options.timeoutMs;
    this.#pageSize = options.pageSize ?? LIST_PAGE;
    this.#poolLifetimeMs = options.poolLifetimeMs ?? POOL_LIFETIME_MS;
    this.#now = options.now ?? Date.now;
    this.#kubeConfig = kubeConfig;
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    const timeoutMs = options.timeoutMs;
    // client-node has no per-call timeout; a middleware gives every request its own deadline.
    this.#callOptions = {
      middleware: [
        {
          pre: (request: RequestContext) => {
            request.setSignal(AbortSignal.timeout(timeoutMs));
            this.#shareConnections(request);
            return new Observable(Promise.resolve(request));
          },
          post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  /**
   * client-node gives every call to a cluster with TLS settings (a CA, a client certificate) a
   * dispatcher of its own (an undici Agent): each call opened a new connection, with its own TLS
   * handshake, which then stayed open, idle, until undici's keep-alive timeout. At a thousand
   * processes a group stop or a culler's round left hundreds of descriptors open (and the server's
   * RSS grew by tens of MB). Calls share one dispatcher, its connections kept alive and reused;
   * the newest one client-node made takes over every POOL_LIFETIME_MS, so that credentials it
   * renews (a client certificate from an exec plugin) reach new connections, and the one it
   * replaces closes once its calls are done.
   */
  #shareConnections(request: RequestContext): void {
    const fresh = request.getDispatcher();
    // None: the call goes through Node's global dispatcher, which already pools its connections.
    if (fresh === undefined) return;
    const now = this.#now();
    if (this.#shared === undefined || now - this.#shared.since >= this.#poolLifetimeMs) {
      const replaced = this.#shared?.dispatcher;
      this.#shared = { dispatcher: fresh, since: now };
      replaced?.close().catch(() => {});
      return;
    }
    request.setDispatcher(this.#shared.dispatcher);
  }

  readDeployment(name: string, purpose: CallPurpose): Promise<V1Deployment | undefined> {
    return this.#read(this.#ctx(purpose, 'get', 'deployments'), () =>
      this.#apps.readNamespacedDeployment({ namespace: this.namespace, name }, this.#callOptions),
    );
  }

  readService(name: string, purpose: CallPurpose): Promise<V1Service | undefined> {
    return this.#read(this.#ctx(purpose, 'get', 'services'), () =>
      this.#core.readNamespacedService({ namespace: this.namespace, name }, this.#callOptions),
    );
  }

  readSecret(name: string, purpose: CallPurpose): Promise<V1Secret | undefined> {
    return this.#read(this.#ctx(purpose, 'get', 'secrets'), () =>
      this.#core.readNamespacedSecret({ namespace: this.namespace, name }, this.#callOptions),
    );
  }

  /** Our Deployments of `labelSelector`, every page of them; with `first`, only that many (for a cheap check). */
  listDeployments(labelSelector: string, action: string, first?: number): Promise<V1Deployment[]> {
    return this.#pages(this.#ctx({ action }, 'list', 'deployments'), first, (page) =>
      this.#apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector, ...page }, this.#callOptions),
    );
  }

  listPods(labelSelector: string, action: string): Promise<V1Pod[]> {
    return this.#pages(this.#ctx({ action }, 'list', 'pods'), undefined, (page) =>
      this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector, ...page }, this.#callOptions),
    );
  }

  listServices(labelSelector: string, action: string): Promise<V1Service[]> {
    return this.#pages(this.#ctx({ action }, 'list', 'services'), undefined, (page) =>
      this.#core.listNamespacedService({ namespace: this.namespace, labelSelector, ...page }, this.#callOptions),
    );
  }

  /** Our Deployments of `labelSelector` and the version the list was read at. */
  snapshotDeployments(labelSelector: string, action: string): Promise<Snapshot<V1Deployment>> {
    return this.#snapshot(this.#ctx({ action }, 'list', 'deployments'), (page) =>
      this.#apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector, ...page }, this.#callOptions),
    );
  }

  snapshotPods(labelSelector: string, action: string): Promise<Snapshot<V1Pod>> {
    return this.#snapshot(this.#ctx({ action }, 'list', 'pods'), (page) =>
      this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector, ...page }, this.#callOptions),
    );
  }

  /**
   * Watches our Deployments of `labelSelector` from `resourceVersion`, kept open across the
   * server's ends (object-watch.ts). Resolves once the server streams; an error opening it (RBAC's
   * 403 for the watch verb, a refused connection) is thrown as ours.
   */
  watchDeployments(
    labelSelector: string,
    resourceVersion: string,
    handlers: ObjectWatchHandlers<V1Deployment>,
    action: string,
    tuning: WatchTuning = {},
  ): Promise<ObjectWatch<V1Deployment>> {
    return this.#watch(`/apis/apps/v1/namespaces/${this.namespace}/deployments`, 'V1Deployment', labelSelector, resourceVersion, handlers, {
      action,
      resource: 'deployments',
      tuning,
    });
  }

  watchPods(
    labelSelector: string,
    resourceVersion: string,
    handlers: ObjectWatchHandlers<V1Pod>,
    action: string,
    tuning: WatchTuning = {},
  ): Promise<ObjectWatch<V1Pod>> {
    return this.#watch(`/api/v1/namespaces/${this.namespace}/pods`, 'V1Pod', labelSelector, resourceVersion, handlers, {
      action,
      resource: 'pods',
      tuning,
    });
  }

  /** What a watch's failure after it opened is, as ours. */
  watchFailure(err: unknown, resource: 'deployments' | 'pods', action: string): HydroplaneError {
    return translateKubeError(err, this.#ctx({ action }, 'watch', resource));
  }

  async #watch<T>(
    path: string,
    model: WatchedModel,
    labelSelector: string,
    resourceVersion: string,
    handlers: ObjectWatchHandlers<T>,
    call: { action: string; resource: 'deployments' | 'pods'; tuning: WatchTuning },
  ): Promise<ObjectWatch<T>> {
    const watch = new ObjectWatch<T>({
      kubeConfig: this.#kubeConfig,
      path,
      model,
      labelSelector,
      resourceVersion,
      timeoutSeconds: call.tuning.timeoutSeconds ?? 300,
      retries: call.tuning.retries ?? 5,
      retryDelayMs: call.tuning.retryDelayMs ?? 250,
      handlers,
    });
    try {
      await watch.open();
    } catch (err) {
      throw this.watchFailure(err, call.resource, call.action);
    }
    return watch;
  }

  async #snapshot<T>(ctx: KubeErrorContext, call: PageCall<T>): Promise<Snapshot<T>> {
    let resourceVersion = '';
    // The first page's version is the list's: the pages after it are read at that version.
    const first: PageCall<T> = async (page) => {
      const list = await call(page);
      if (page._continue === undefined) resourceVersion = list.metadata?.resourceVersion ?? '';
      return list;
    };
    const items = await this.#pages(ctx, undefined, first);
    return { items, resourceVersion };
  }

  async #pages<T>(ctx: KubeErrorContext, first: number | undefined, call: PageCall<T>): Promise<T[]> {
    try {
      return await everyPage(call, { pageSize: this.#pageSize, ...(first === undefined ? {} : { first }) });
    } catch (err) {
      throw translateKubeError(err, ctx);
    }
  }

  /** The cluster's nodes, or undefined when RBAC does not let this account list them (it takes a ClusterRole). */
  async listNodes(action: string): Promise<V1Node[] | undefined> {
    try {
      return (await this.#core.listNode({}, this.#callOptions)).items;
    } catch (err) {
      if (isForbidden(err)) return undefined;
      throw translateKubeError(err, this.#ctx({ action }, 'list', 'nodes'));
    }
  }

  createDeployment(body: V1Deployment, purpose: CallPurpose): Promise<Created<V1Deployment>> {
    return this.#create(this.#ctx(purpose, 'create', 'deployments'), () =>
      this.#apps.createNamespacedDeployment({ namespace: this.namespace, body }, this.#callOptions),
    );
  }

  createService(body: V1Service, purpose: CallPurpose): Promise<Created<V1Service>> {
    return this.#create(this.#ctx(purpose, 'create', 'services'), () =>
      this.#core.createNamespacedService({ namespace: this.namespace, body }, this.#callOptions),
    );
  }

  createSecret(body: V1Secret, purpose: CallPurpose): Promise<Created<V1Secret>> {
    return this.#create(this.#ctx(purpose, 'create', 'secrets'), () =>
      this.#core.createNamespacedSecret({ namespace: this.namespace, body }, this.#callOptions),
    );
  }

  /** Replaces the Secret named in `body`; its resourceVersion makes the API refuse a replace of a changed one. */
  replaceSecret(body: V1Secret, purpose: CallPurpose): Promise<V1Secret> {
    return this.#call(this.#ctx(purpose, 'update', 'secrets'), () =>
      this.#core.replaceNamespacedSecret({ namespace: this.namespace, name: body.metadata?.name ?? '', body }, this.#callOptions),
    );
  }

  /** Deletes this Deployment (by uid) and, in the background, its pods. */
  deleteDeployment(deployment: ObjectRef, purpose: CallPurpose): Promise<DeleteOutcome> {
    const name = deployment.metadata?.name ?? '';
    return this.#delete(this.#ctx(purpose, 'delete', 'deployments'), () =>
      this.#apps.deleteNamespacedDeployment(
        { namespace: this.namespace, name, propagationPolicy: 'Background', body: { preconditions: { uid: deployment.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  /** Deletes this Service (by uid). */
  deleteService(service: ObjectRef, purpose: CallPurpose): Promise<DeleteOutcome> {
    const name = service.metadata?.name ?? '';
    return this.#delete(this.#ctx(purpose, 'delete', 'services'), () =>
      this.#core.deleteNamespacedService(
        { namespace: this.namespace, name, body: { preconditions: { uid: service.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  /** Deletes this Secret (by uid). */
  deleteSecret(secret: ObjectRef, purpose: CallPurpose): Promise<DeleteOutcome> {
    const name = secret.metadata?.name ?? '';
    return this.#delete(this.#ctx(purpose, 'delete', 'secrets'), () =>
      this.#core.deleteNamespacedSecret(
        { namespace: this.namespace, name, body: { preconditions: { uid: secret.metadata?.uid } } },
        this.#callOptions,
      ),
    );
  }

  /**
   * A container's log as text. Empty when it has none to give: the pod is gone, its container is
   * waiting to start again, or `signal` aborted the opening. Aborting `signal` later ends the text.
   */
  async podLog(query: Omit<PodLogQuery, 'namespace'>, purpose: CallPurpose, signal?: AbortSignal): Promise<AsyncIterable<string>> {
    const ctx = this.#ctx(purpose, 'get', 'pods/log');
    let stream;
    try {
      stream = await openPodLog(this.#kubeConfig, { namespace: this.namespace, ...query }, this.#timeoutMs, signal);
    } catch (err) {
      if (signal?.aborted) return noText();
      // Between the caller's look at the pod and this call, the container may have gone back to waiting (a restart).
      if (apiFailure(err).code === 400 && /waiting to start|PodInitializing/i.test(apiFailure(err).text)) return noText();
      if (isNotFound(err)) return noText();
      throw translateKubeError(err, ctx);
    }
    return logText(stream, utf8Text, signal, (err) => translateKubeError(err, ctx));
  }

  #ctx(purpose: { action: string; processName?: string }, verb: Verb, resource: string): KubeErrorContext {
    const ctx: KubeErrorContext = {
      runtime: this.#runtime,
      server: this.server,
      namespace: this.namespace,
      action: purpose.action,
      verb,
      resource,
      timeoutMs: this.#timeoutMs,
    };
    if (purpose.processName !== undefined) ctx.processName = purpose.processName;
    return ctx;
  }

  async #call<T>(ctx: KubeErrorContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw translateKubeError(err, ctx);
    }
  }

  /** A read that answers undefined for 404. */
  async #read<T>(ctx: KubeErrorContext, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw translateKubeError(err, ctx);
    }
  }

  async #create<T>(ctx: KubeErrorContext, call: () => Promise<T>): Promise<Created<T>> {
    try {
      return { created: await call() };
    } catch (err) {
      if (isAlreadyExists(err)) return { alreadyExists: translateKubeError(err, ctx) };
      throw translateKubeError(err, ctx);
    }
  }

  /**
   * A delete by uid, for which "already gone" (404) and "replaced by another object" (the uid
   * precondition failed: 409) are not errors: the object deleted is no longer there either way.
   * Which of the three it was is the answer.
   */
  async #delete(ctx: KubeErrorContext, call: () => Promise<unknown>): Promise<DeleteOutcome> {
    try {
      await call();
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      const f = apiFailure(err);
      if (f.code === 409 && /precondition/i.test(f.text)) return 'replaced';
      throw translateKubeError(err, ctx);
    }
  }
}
