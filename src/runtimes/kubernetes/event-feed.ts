// The Kubernetes runtime's event feed: a watch on Hydroplane's Deployments and one on their pods
// (by label selector), told as process events by process-events.ts in the order they arrive.
//
// Ids. An event's id is a cursor of both watches: the resourceVersion each had reached when the
// event was told. Resuming there starts each watch at its own version, so each replays exactly
// what it had not yet delivered. Two versions rather than one: the API conventions make
// resourceVersions opaque (pass them back, compare only for equality); that etcd's happen to be one
// global counter is not promised, so no version of one resource is used for another.
//
// Order. Each watch delivers its changes in order, but the two are separate streams: when they
// open, each replays its backlog at once (a resume's, a reconnect's), and a pod's changes could be
// told before the Deployment's that came first. So the changes that arrive while the watches open
// are gathered until they stop coming (REPLAY_QUIET_MS) and told in resourceVersion order when every
// version is a decimal integer, as etcd's are (one counter for all resources; every cluster backed
// by etcd, EKS and GKE included); with any other versions, in arrival order. Live changes are told
// as they arrive.
//
// A fresh feed lists both first and starts the watches at the lists' versions: what exists then is
// the state it starts from, not told. A resumed feed starts both watches at the lower of the
// cursor's two versions when both are decimal (etcd's), and takes what each replays up to its own
// version as state, untold: so it knows, for instance, that a Deployment told as stopped is gone
// when its last pod's deletion comes. With other versions it starts each at its own. When a
// version is too old (410 Gone, the server keeps about 5 minutes of changes), the feed lists again
// and tells the difference (process-events.ts's resyncEvents), then watches from the new lists.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { HydroplaneError } from '../../errors.ts';
import type { ProcessEvent } from '../../spec/process-event.ts';
import type { RuntimeLogger } from '../logger.ts';
import type { RuntimeEvent } from '../runtime.ts';
import type { KubeApiClient, WatchTuning } from './api-client.ts';
import type { ObjectWatch } from './object-watch.ts';
import { ProcessEventState, eventsOf, resyncEvents, seedState, type WatchChange } from './process-events.ts';

/** Where both watches stand: the resourceVersion each had reached. */
export interface EventCursor {
  deployments: string;
  pods: string;
}

const CURSOR_PREFIX = 'k8s.';

export function formatCursor(cursor: EventCursor): string {
  return CURSOR_PREFIX + Buffer.from(JSON.stringify([cursor.deployments, cursor.pods])).toString('base64url');
}

/** The cursor an id of this runtime's carries; undefined for anything else. */
export function parseCursor(id: string): EventCursor | undefined {
  if (!id.startsWith(CURSOR_PREFIX)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(id.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [deployments, pods] = value as unknown[];
    if (typeof deployments !== 'string' || typeof pods !== 'string' || deployments === '' || pods === '') return undefined;
    return { deployments, pods };
  } catch {
    return undefined;
  }
}

export interface EventFeedOptions {
  client: KubeApiClient;
  labelSelector: string;
  after?: EventCursor | undefined;
  signal?: AbortSignal | undefined;
  tuning?: WatchTuning | undefined;
  logger: RuntimeLogger;
  /** Called once the feed has ended, whatever ended it. */
  onEnd?: () => void;
  /** The most events told but not yet taken; default QUEUE_LIMIT. */
  queueLimit?: number;
}

/**
 * The most events a feed keeps for a follower that does not take them (its client does not read:
 * the watches keep coming regardless). Past it the feed ends with an error, and the follower
 * resumes from the last event it took, as after any break; a few megabytes at most.
 */
export const QUEUE_LIMIT = 10_000;

const ACTION = 'following process events';

/** While the watches open: how long no change must arrive before the gathered replay is told, and the longest wait. */
const REPLAY_QUIET_MS = 30;
const REPLAY_MAX_MS = 1000;

interface Arrival {
  change: WatchChange;
  watch: keyof EventCursor;
  rv: string;
}

/** etcd's order for two changes' versions when both are decimal integers; none (0) otherwise. */
export function versionOrder(a: string, b: string): number {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return 0;
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Arrivals in etcd's order if every version is a decimal integer, else as they came. */
export function replayOrder<T extends { rv: string }>(arrivals: readonly T[]): T[] {
  if (!arrivals.every((a) => /^\d+$/.test(a.rv))) return [...arrivals];
  return [...arrivals].sort((a, b) => versionOrder(a.rv, b.rv));
}

export class EventFeed {
  readonly #o: EventFeedOptions;
  readonly #state: ProcessEventState;
  readonly #rv: EventCursor = { deployments: '', pods: '' };
  #deployments: ObjectWatch<V1Deployment> | undefined;
  #pods: ObjectWatch<V1Pod> | undefined;
  readonly #queue: RuntimeEvent[] = [];
  #wake: () => void = () => {};
  #ended = false;
  #failure: Error | undefined;
  #expired = false;
  #opened = false;
  #resyncing: Promise<void> | undefined;
  readonly #onAbort = () => this.end();
  /** Changes gathered while the watches open; undefined once they are told as they come. */
  #gathered: Arrival[] | undefined;
  /** A resumed feed's cursor: what each watch replays up to it was told before, and is state only. */
  #toldUpTo: EventCursor | undefined;

  constructor(options: EventFeedOptions) {
    this.#o = options;
    this.#state = new ProcessEventState({ resuming: options.after !== undefined });
  }

  /** Opens both watches; throws (ours) when the cluster refuses. The events are `iterate()`'s. */
  async open(): Promise<void> {
    const { after, signal } = this.#o;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      if (after === undefined) await this.#start();
      else {
        this.#toldUpTo = after;
        const lower = versionOrder(after.deployments, after.pods) < 0 ? after.deployments : after.pods;
        const decimal = /^\d+$/.test(after.deployments) && /^\d+$/.test(after.pods);
        this.#rv.deployments = decimal ? lower : after.deployments;
        this.#rv.pods = decimal ? lower : after.pods;
        await this.#watch();
        if (this.#expired) await this.#resync();
      }
      this.#opened = true;
    } catch (err) {
      this.end();
      throw err;
    }
  }

  /** Ends the feed and releases both watches. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    this.#deployments?.stop();
    this.#pods?.stop();
    this.#wake();
    this.#o.onEnd?.();
  }

  async *iterate(): AsyncGenerator<RuntimeEvent> {
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.#failure) throw this.#failure;
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.end();
    }
  }

  /** A fresh start: list both, take that as the state, watch from the lists' versions. */
  async #start(): Promise<void> {
    const [deployments, pods] = await Promise.all([
      this.#o.client.snapshotDeployments(this.#o.labelSelector, ACTION),
      this.#o.client.snapshotPods(this.#o.labelSelector, ACTION),
    ]);
    seedState(this.#state, deployments.items, pods.items, new Date());
    this.#rv.deployments = deployments.resourceVersion;
    this.#rv.pods = pods.resourceVersion;
    await this.#watch();
    // A list's version expired before its watch opened (a slow start on a busy cluster): list again.
    if (this.#expired) await this.#resync();
  }

  /** Opens both watches at the cursor, gathers what they replay, and tells it in order. */
  async #watch(): Promise<void> {
    this.#expired = false;
    this.#gathered = [];
    const expired = () => {
      this.#expired = true;
      if (this.#opened && !this.#resyncing) this.#resyncing = this.#resync().finally(() => (this.#resyncing = undefined));
    };
    const tuning = this.#o.tuning ?? {};
    const [deployments, pods] = await Promise.allSettled([
      this.#o.client.watchDeployments(
        this.#o.labelSelector,
        this.#rv.deployments,
        {
          change: (type, object, rv) => this.#change({ kind: 'Deployment', type, object }, 'deployments', rv),
          expired,
          failed: (err) => this.#fail(this.#o.client.watchFailure(err, 'deployments', ACTION)),
        },
        ACTION,
        tuning,
      ),
      this.#o.client.watchPods(
        this.#o.labelSelector,
        this.#rv.pods,
        {
          change: (type, object, rv) => this.#change({ kind: 'Pod', type, object }, 'pods', rv),
          expired,
          failed: (err) => this.#fail(this.#o.client.watchFailure(err, 'pods', ACTION)),
        },
        ACTION,
        tuning,
      ),
    ]);
    if (deployments.status === 'fulfilled') this.#deployments = deployments.value;
    if (pods.status === 'fulfilled') this.#pods = pods.value;
    if (deployments.status === 'rejected' || pods.status === 'rejected' || this.#ended) {
      this.#deployments?.stop();
      this.#pods?.stop();
      if (deployments.status === 'rejected') throw deployments.reason;
      if (pods.status === 'rejected') throw pods.reason;
      return;
    }
    const began = Date.now();
    for (let count = -1; count !== this.#gathered.length && Date.now() - began < REPLAY_MAX_MS;) {
      count = this.#gathered.length;
      await new Promise((resolve) => setTimeout(resolve, REPLAY_QUIET_MS));
    }
    const gathered = replayOrder(this.#gathered);
    this.#gathered = undefined;
    if (this.#expired) return;
    for (const a of gathered) this.#apply(a);
  }

  #change(change: WatchChange, watch: keyof EventCursor, rv: string): void {
    if (this.#ended || this.#expired) return;
    if (this.#gathered) this.#gathered.push({ change, watch, rv });
    else this.#apply({ change, watch, rv });
  }

  #apply({ change, watch, rv }: Arrival): void {
    this.#rv[watch] = rv;
    const events = eventsOf(this.#state, change, new Date());
    const told = this.#toldUpTo?.[watch];
    if (told !== undefined && versionOrder(rv, told) <= 0) return;
    this.#tell(events);
  }

  /** Where the feed stands for an id: never before the cursor it resumed from. */
  #cursor(): EventCursor {
    const told = this.#toldUpTo;
    if (told === undefined) return this.#rv;
    const later = (a: string, b: string) => (versionOrder(a, b) < 0 ? b : a);
    return { deployments: later(this.#rv.deployments, told.deployments), pods: later(this.#rv.pods, told.pods) };
  }

  #tell(events: ProcessEvent[]): void {
    if (events.length === 0) return;
    const id = formatCursor(this.#cursor());
    for (const event of events) this.#queue.push({ ...event, id });
    const limit = this.#o.queueLimit ?? QUEUE_LIMIT;
    if (this.#queue.length > limit) {
      // The events not taken are dropped: the follower's last id still resumes before them.
      this.#queue.length = 0;
      this.#fail(
        new HydroplaneError(
          'request_timeout',
          `the follower did not take its events: more than ${limit} waited; reconnect with the last event id it received to resume`,
        ),
      );
      return;
    }
    this.#wake();
  }

  /** A version expired: stop both watches, list again, tell the difference, watch from the lists. */
  async #resync(): Promise<void> {
    this.#deployments?.stop();
    this.#pods?.stop();
    if (this.#ended) return;
    this.#o.logger.info({ selector: this.#o.labelSelector }, 'a watch version expired (410 Gone): listing again to resume');
    try {
      const [deployments, pods] = await Promise.all([
        this.#o.client.snapshotDeployments(this.#o.labelSelector, ACTION),
        this.#o.client.snapshotPods(this.#o.labelSelector, ACTION),
      ]);
      if (this.#ended) return;
      this.#rv.deployments = deployments.resourceVersion;
      this.#rv.pods = pods.resourceVersion;
      this.#tell(resyncEvents(this.#state, deployments.items, pods.items, new Date()));
      await this.#watch();
      if (this.#expired) throw new HydroplaneError('runtime_error', 'the API server expired the version of a list it had just given');
    } catch (err) {
      if (!this.#resyncing) throw err; // the first open: the caller hears it
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #fail(err: Error): void {
    if (this.#ended) return;
    this.#o.logger.warn({ err, selector: this.#o.labelSelector }, 'the event feed stopped');
    this.#failure = err;
    this.end();
  }
}
