// Watches, served as the API server serves them (API concepts, "Efficient detection of changes"):
// a chunked stream of newline-delimited {type, object} events for a list path and its label
// selector. resourceVersion unset or "0": synthetic ADDED events for what exists now, then the
// changes; any other version: the changes after it, from a bounded history; a version older than
// the history: a 410 Expired Status as an ERROR event (as the watch cache does) or, if asked, as
// the answer itself. allowWatchBookmarks adds periodic BOOKMARK events; timeoutSeconds closes
// the stream. An object that comes into or leaves the selector is ADDED or DELETED for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, clone, type KubeObject, type ResourceType } from './resources.ts';
import { matchesLabels, parseLabelSelector, type Requirement } from './selectors.ts';
import { badRequest, failure, type ApiError } from './status.ts';
import type { EventType, Store, StoreEvent } from './store.ts';

export interface WatchHubOptions {
  /** Changes kept for watches that start at a version: older versions are Expired. */
  historySize: number;
  /** Time between BOOKMARK events of a watch that allows them. */
  bookmarkIntervalMs: number;
  /** How a too-old version is refused: an ERROR event in a 200 stream (the API's way) or a 410 answer. */
  expiredAs: 'event' | 'response';
}

interface Change {
  version: number;
  type: EventType;
  res: ResourceType;
  object: KubeObject;
  /** The object before the change; undefined for ADDED. */
  previous: KubeObject | undefined;
}

interface Watcher {
  res: ResourceType;
  namespace: string | undefined;
  selector: Requirement[];
  write(type: string, object: unknown): void;
  end(): void;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export class WatchHub {
  readonly #store: Store;
  readonly #history: Change[] = [];
  /** Changes up to and including this version are no longer in the history. */
  #compacted: number;
  readonly #latest = new Map<string, KubeObject>();
  readonly #watchers = new Set<Watcher>();
  readonly options: WatchHubOptions;

  constructor(store: Store, options: WatchHubOptions) {
    this.#store = store;
    this.options = options;
    this.#compacted = Number(store.resourceVersion);
    store.onChange((e) => this.#record(e));
  }

  /** Open watches, of one resource ("pods") or of all. */
  count(resource?: string): number {
    return [...this.#watchers].filter((w) => resource === undefined || w.res.plural === resource).length;
  }

  /** Forgets the history: every version before now is Expired. */
  compact(): void {
    this.#history.length = 0;
    this.#compacted = Number(this.#store.resourceVersion);
  }

  /** Ends every open watch, as an API server does when it restarts or a watch's time is up. */
  closeAll(): void {
    for (const w of this.#watchers) w.end();
  }

  /**
   * Serves one watch request. Throws ApiError for a bad request (before any byte is written), and
   * for a too-old version when `expiredAs` is 'response'.
   */
  serve(res: ResourceType, namespace: string | undefined, query: URLSearchParams, req: IncomingMessage, response: ServerResponse): void {
    if (query.get('fieldSelector')) throw badRequest('the Kubernetes stand-in serves watches by labelSelector only, not fieldSelector');
    const selector = parseLabelSelector(query.get('labelSelector') ?? '');
    const rv = query.get('resourceVersion') ?? '';
    let from: number | undefined;
    if (rv !== '' && rv !== '0') {
      if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: strconv.ParseUint: parsing "${rv}": invalid syntax`);
      from = Number(rv);
    }
    const timeout = query.get('timeoutSeconds');
    if (timeout !== null && !/^\d+$/.test(timeout))
      throw badRequest(`invalid timeoutSeconds "${timeout}": must be a whole number of seconds`);
    const expired = from !== undefined && from < this.#compacted ? this.#expired(from) : undefined;
    if (expired && this.options.expiredAs === 'response') throw expired;

    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    const timers: NodeJS.Timeout[] = [];
    const watcher: Watcher = {
      res,
      namespace,
      selector,
      write: (type, object) => response.write(`${JSON.stringify({ type, object })}\n`),
      end: () => {
        if (!this.#watchers.delete(watcher)) return;
        for (const t of timers) clearTimeout(t);
        response.end();
      },
    };
    if (expired) {
      watcher.write('ERROR', expired.status);
      response.end();
      return;
    }
    this.#watchers.add(watcher);
    req.on('close', () => watcher.end());
    response.on('close', () => watcher.end());
    if (from === undefined) {
      // "Get State and Start at Most Recent" (and, here alike, "Start at Any" for "0").
      for (const object of this.#store.list(res, namespace)) if (this.#matches(watcher, object)) watcher.write('ADDED', object);
    } else {
      for (const change of this.#history) if (change.version > from) this.#deliver(watcher, change);
    }
    if (query.get('allowWatchBookmarks') === 'true') {
      const bookmark = () => {
        watcher.write('BOOKMARK', {
          kind: res.kind,
          apiVersion: apiVersionOf(res),
          metadata: { resourceVersion: this.#store.resourceVersion },
        });
        timers.push(setTimeout(bookmark, this.options.bookmarkIntervalMs));
      };
      timers.push(setTimeout(bookmark, this.options.bookmarkIntervalMs));
    }
    if (timeout !== null) timers.push(setTimeout(() => watcher.end(), Number(timeout) * 1000));
  }

  #expired(from: number): ApiError {
    return failure(410, 'Expired', `too old resource version: ${from} (${this.#compacted + 1})`);
  }

  #record(e: StoreEvent): void {
    const key = `${e.res.plural}/${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
    const change: Change = {
      version: Number(e.object.metadata.resourceVersion),
      type: e.type,
      res: e.res,
      object: clone(e.object),
      previous: this.#latest.get(key),
    };
    if (e.type === 'DELETED') this.#latest.delete(key);
    else this.#latest.set(key, change.object);
    this.#history.push(change);
    while (this.#history.length > this.options.historySize) this.#compacted = this.#history.shift()!.version;
    for (const w of this.#watchers) this.#deliver(w, change);
  }

  #matches(w: Watcher, object: KubeObject | undefined): boolean {
    return (
      object !== undefined &&
      (w.namespace === undefined || object.metadata.namespace === w.namespace) &&
      matchesLabels(w.selector, object.metadata.labels)
    );
  }

  /** What a change is to one watch: an object entering its selector is ADDED to it, one leaving it DELETED. */
  #deliver(w: Watcher, change: Change): void {
    if (change.res !== w.res) return;
    const was = change.type !== 'ADDED' && this.#matches(w, change.previous);
    const is = this.#matches(w, change.object);
    let type: WatchEventType | undefined;
    if (change.type === 'DELETED') type = was || is ? 'DELETED' : undefined;
    else if (is) type = was ? 'MODIFIED' : 'ADDED';
    else if (was) type = 'DELETED';
    if (type !== undefined) w.write(type, change.object);
  }
}
