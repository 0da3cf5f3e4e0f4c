// The one interface that every runtime implements. Credentials, clients and their refresh stay
// inside each backend; errors leave a backend only as HydroplaneErrors from the catalogue.
import type { RuntimeConfig } from '../config/schema.ts';
import { HydroplaneError } from '../errors.ts';
import type { ProcessEvent } from '../spec/process-event.ts';
import type { ProcessInfo } from '../spec/process-info.ts';
import type { ProcessSpec } from '../spec/process-spec.ts';

export interface ListFilter {
  group?: string;
}

export interface LogOptions {
  /** Only the last N lines (0: none, then what comes with follow). */
  tail?: number;
  /** Only what was written at or after this time. */
  since?: Date;
  /** Keep the stream open for new output until the process ends or `signal` aborts. */
  follow?: boolean;
  /** Start each line with its RFC 3339 time (nanoseconds) and a space. */
  timestamps?: boolean;
  /** Aborting it ends the stream and releases the runtime's connection. */
  signal?: AbortSignal;
}

export interface StartOptions {
  /**
   * Aborted when the answer is no longer wanted (the client went away, the server is closing):
   * the runtime stops what it was doing (an image pull) and removes anything it had created.
   * The Docker runtime honours it; the Kubernetes runtimes do not yet (their starts are a few
   * quick API calls, and the cluster pulls images after the answer).
   */
  signal?: AbortSignal;
}

/** Which processes' events a feed carries: all of Hydroplane's, one group's, or one process's. */
export interface EventFilter {
  group?: string;
  processName?: string;
}

export interface EventOptions {
  filter?: EventFilter;
  /**
   * The id of the last event the client saw (SSE's Last-Event-ID): the feed starts with what came
   * after it, as far as the runtime still knows (the Engine keeps its recent events; Kubernetes
   * answers 410 Gone for a version it no longer has). Ids are the runtime's own cursors.
   */
  after?: string;
  /** Aborting it ends the feed and releases the runtime's connection. */
  signal?: AbortSignal;
}

/** A ProcessEvent with its id: the runtime's cursor just after it, for resuming there. */
export type RuntimeEvent = ProcessEvent & { id: string };

/** The runtimes there are, as a config's runtime_type names them. */
export type RuntimeType = RuntimeConfig['runtime_type'];

export interface Runtime {
  /** The runtime's type as configured; named in errors. */
  readonly type: RuntimeType;

  /**
   * Starts a process. Resolves once the runtime has accepted and started it; nothing is left
   * behind when it fails or is aborted. Throws process_exists when a live process has the name.
   */
  start(spec: ProcessSpec, options?: StartOptions): Promise<ProcessInfo>;

  /**
   * One process, or undefined when no process of Hydroplane's has the name. get, stop and logs
   * act on what list shows under that name, and get reports it as list does, with its start and end
   * times where list leaves them out (Docker: they cost an Engine call per process).
   */
  get(name: string): Promise<ProcessInfo | undefined>;

  /** The processes that carry Hydroplane's labels, optionally of one group. */
  list(filter?: ListFilter): Promise<ProcessInfo[]>;

  /** Stops and removes a process. Throws process_not_found when none of Hydroplane's has the name. */
  stop(name: string): Promise<void>;

  /**
   * The output of a process, stdout and stderr interleaved, as UTF-8 text chunks. Resolves once
   * the runtime has the log open, so that process_not_found (and any runtime error) comes before
   * the first chunk. A process that has not started yet has an empty log.
   */
  logs(name: string, options?: LogOptions): Promise<AsyncIterable<string>>;

  /** Stops every process of the group; returns their names (none is not an error). */
  stopGroup(group: string): Promise<string[]>;

  /**
   * Resolves once the runtime answers a cheap call that needs its credentials (the Engine's ping,
   * a list of one Deployment); throws the catalogue's error saying why not (runtime_unavailable,
   * runtime_error). For start-up's check and GET /ready.
   */
  ping(): Promise<void>;

  /**
   * Lifecycle events of Hydroplane's processes, from the runtime's own change feed (never polling).
   * Resolves once the feed is open, so that errors come before the first event; the iterable ends
   * when options.signal aborts or the runtime closes the feed.
   */
  events(options?: EventOptions): Promise<AsyncIterable<RuntimeEvent>>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** The answer to a resume id that this runtime's feed never gives; `form` is what its ids look like. */
export function foreignEventId(runtime: RuntimeType, form: string): HydroplaneError {
  return new HydroplaneError(
    'invalid_request',
    `the event id to resume after is not one that the ${runtime} runtime gives (${form}): reconnect without Last-Event-ID to follow from now`,
  );
}
