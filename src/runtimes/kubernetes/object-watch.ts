// One watch of a resource by label selector, over client-node's Watch, kept open: when the API
// server ends the stream (its timeoutSeconds, a restart) or the connection drops, it is opened
// again from the last resourceVersion seen (an object's or a BOOKMARK's), so no change is lost
// and none is told twice. A version the server no longer has (410 Gone: an ERROR event with an
// Expired Status, or a 410 answer) is reported as `expired`, for the caller to list again. It
// knows the API and nothing of processes; resourceVersions are passed back as given, never
// compared (the API conventions: they are opaque).
import { ApiException, Watch, type KubeConfig } from '@kubernetes/client-node';
// Watch hands over objects as raw JSON; the generated API calls read theirs with this serializer
// (Dates for times), which the package root does not export.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import type { KubeStatus } from './errors.ts';

export type WatchedModel = 'V1Deployment' | 'V1Pod';

/** A connection that the server ends sooner than this is opened again after a pause. */
const QUICK_END_MS = 500;

export interface ObjectWatchHandlers<T> {
  /** An object change; `resourceVersion` is where the watch now stands. */
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T, resourceVersion: string): void;
  /** The version is gone from the server's history: the watch has stopped; list again and start over. */
  expired(): void;
  /** The watch cannot go on (after `retries` failed attempts in a row); it has stopped. */
  failed(err: unknown): void;
}

export interface ObjectWatchOptions<T> {
  kubeConfig: KubeConfig;
  /** The collection's path: /apis/apps/v1/namespaces/ns/deployments. */
  path: string;
  model: WatchedModel;
  labelSelector: string;
  /** Where to start: a list's resourceVersion, or an event's. */
  resourceVersion: string;
  /** Asked of the server for each connection, which then ends it; the watch opens again. */
  timeoutSeconds: number;
  /** Connection failures in a row before the watch gives up. */
  retries: number;
  /** The wait before the nth retry: retryDelayMs * 2^(n-1), at most 5 s. */
  retryDelayMs: number;
  handlers: ObjectWatchHandlers<T>;
}

/** Watch's error for an answer other than 200 carries only its code; this makes it an API error errors.ts reads. */
function asApiError(err: unknown): unknown {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof code === 'number') return new ApiException(code, (err as Error).message, '', {});
  return err;
}

export class ObjectWatch<T> {
  readonly #o: ObjectWatchOptions<T>;
  #resourceVersion: string;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  /** When the current connection opened; undefined once it has ended. */
  #connectedAt: number | undefined;

  constructor(options: ObjectWatchOptions<T>) {
    this.#o = options;
    this.#resourceVersion = options.resourceVersion;
  }

  /** Where the watch stands: the resourceVersion to resume from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Opens the first connection. Resolves once the server has answered 200; rejects with the API's
   * error otherwise (403 for a missing RBAC verb, a refused connection), and the watch is stopped.
   * An expired version resolves, and `expired` is called.
   */
  async open(): Promise<void> {
    const first = await this.#connect();
    if (first !== undefined) {
      this.stop();
      throw asApiError(first);
    }
  }

  /** Ends the watch and its connection; no handler is called after it. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    this.#controller = undefined;
  }

  /** One connection; resolves with the error that kept it from opening, if any. */
  async #connect(): Promise<unknown> {
    let openError: unknown;
    let opening = true;
    let over = false;
    const done = (err: unknown) => {
      if (opening) openError = err ?? new Error('the watch ended before it opened');
      else if (!over && this.#controller === controller) this.#ended(err);
      over = true;
    };
    const controller = await new Watch(this.#o.kubeConfig).watch(
      this.#o.path,
      {
        labelSelector: this.#o.labelSelector,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#o.timeoutSeconds,
      },
      (type, object) => this.#event(type, object),
      (err) => done(err),
    );
    opening = false;
    if (this.#stopped) {
      controller.abort();
      return undefined;
    }
    if (openError !== undefined) {
      if ((openError as { statusCode?: number }).statusCode === 410) {
        this.#expire();
        return undefined;
      }
      return openError;
    }
    this.#controller = controller;
    this.#connectedAt = Date.now();
    this.#failures = 0;
    return undefined;
  }

  #event(type: string, object: unknown): void {
    if (this.#stopped) return;
    const rv = (object as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        if (rv !== undefined) this.#resourceVersion = rv;
        this.#o.handlers.change(type, ObjectSerializer.deserialize(object, this.#o.model, '') as T, this.#resourceVersion);
        return;
      case 'BOOKMARK':
        if (rv !== undefined) this.#resourceVersion = rv;
        return;
      case 'ERROR': {
        const status = (object ?? {}) as KubeStatus;
        if (status.code === 410) this.#expire();
        else {
          // Another failure in the stream (a 500 from the server's watch cache): this connection is
          // over; it counts as a failed one and is opened again like any other.
          const controller = this.#controller;
          this.#controller = undefined;
          this.#connectedAt = undefined;
          controller?.abort();
          this.#ended(new ApiException(status.code ?? 500, status.message ?? 'watch error', status, {}), true);
        }
        return;
      }
      default:
        return;
    }
  }

  #expire(): void {
    if (this.#stopped) return;
    this.stop();
    this.#o.handlers.expired();
  }

  /**
   * The connection ended: by the server (null), or by a failure; open it again from where it
   * stands. `counted`: the failure was already taken off the connection.
   */
  #ended(err: unknown, counted = false): void {
    const lived = this.#connectedAt === undefined ? 0 : Date.now() - this.#connectedAt;
    if (!counted) {
      this.#controller = undefined;
      this.#connectedAt = undefined;
    }
    if (this.#stopped) return;
    // An end without an error (timeoutSeconds, a restart) and client-node's own inactivity timeout
    // are part of a watch's life; only a failure counts towards giving up.
    const name = (err as { name?: string } | null)?.name;
    const failure = err !== null && err !== undefined && name !== 'TimeoutError';
    if (failure) this.#failures++;
    if (this.#failures > this.#o.retries) {
      this.stop();
      this.#o.handlers.failed(asApiError(err));
      return;
    }
    // A server that ends every watch at once (a proxy's idle timeout of zero) must not make a busy loop.
    const delay = failure
      ? Math.min(5000, this.#o.retryDelayMs * 2 ** (this.#failures - 1))
      : lived < QUICK_END_MS
        ? this.#o.retryDelayMs
        : 0;
    this.#timer = setTimeout(() => void this.#reconnect(), delay);
  }

  async #reconnect(): Promise<void> {
    if (this.#stopped) return;
    let err: unknown;
    try {
      err = await this.#connect();
    } catch (thrown) {
      err = thrown;
    }
    if (err !== undefined) this.#ended(err);
  }
}
