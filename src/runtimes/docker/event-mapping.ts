// The Engine's container events (GET /events) -> Hydroplane's process events, and the cursor that a
// feed resumes from. Pure: no I/O, no clock; docker-runtime.ts feeds it the Engine's stream.
//
// The Engine says what happened to a container, not why: a stop is `kill` (SIGTERM, then SIGKILL
// after the grace period), `die`, `stop`; a process that ends by itself is `die` alone; an OOM kill
// is `oom` then `die`. So a `die` is `stopped` when a `kill` of that container came before it in the
// feed, and `exited` otherwise; a `stop` after a `die` that was told as `exited` (an Engine that
// sends no `kill` for a stop) is `stopped` then (once per container life). Podman 4.3 sends neither
// `kill` nor `stop` for a stop: there it is `exited` with the signal's exit code. A
// `die` of a container whose `create` the feed saw but whose `start` it did not is a start that
// failed (`failed`). What the feed did not see (a kill before it opened) it cannot know: a resumed
// feed reads a while before its cursor to learn it again (see EngineEventFeed).
import { GROUP_LABEL, PROCESS_LABEL } from '../../labels.ts';
import type { ProcessEvent } from '../../spec/process-event.ts';
import type { EventFilter, RuntimeEvent } from '../runtime.ts';
import { boundedText } from './errors.ts';

/** One line of GET /events, as far as the mapping reads it. timeNano is kept as its decimal text (it exceeds 2^53). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  /** The older name of Action, which some Engines still send alone. */
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: string;
}

/**
 * The Engine's container actions that the mapping reads: the Engine filters by them, so the rest
 * never crosses the wire. Podman filters by its own names for two of them ('died', 'remove'; it
 * sends them as 'die' and 'remove'); Docker matches names it does not know to nothing.
 */
export const ENGINE_ACTIONS = ['create', 'start', 'kill', 'oom', 'die', 'died', 'stop', 'destroy', 'remove'] as const;

/**
 * The Engine's label filter for a feed: one `key=value` at most. Podman matches a bare key to
 * nothing and joins several label filters with OR (Docker with AND), so the exact filter is the
 * feed's own (EngineEventFeed); the Engine's only cuts down what crosses the wire.
 */
export function engineLabelFilter(filter: EventFilter): string[] {
  if (filter.processName !== undefined) return [`${PROCESS_LABEL}=${filter.processName}`];
  if (filter.group !== undefined) return [`${GROUP_LABEL}=${filter.group}`];
  return [];
}

/** Whether a told event is of the processes that the filter asks for. */
export function matchesFilter(event: Pick<ProcessEvent, 'process_name' | 'group'>, filter: EventFilter): boolean {
  return (
    (filter.processName === undefined || event.process_name === filter.processName) &&
    (filter.group === undefined || event.group === filter.group)
  );
}

/** What the feed remembers about one container, to tell a stop from an exit and a failed start from both. */
interface ContainerMemory {
  created: boolean;
  started: boolean;
  killed: boolean;
  oom: boolean;
  /** The last die's exit code, for Podman's stop that follows it. */
  exitCode: number | null;
  /** The die was told as stopped, or a stop was: no second stopped. */
  toldStopped: boolean;
  /** A die was seen since the last start. */
  died: boolean;
}

export type FeedMemory = ReadonlyMap<string, Readonly<ContainerMemory>>;

/** The most containers a feed remembers; the oldest are forgotten first (a destroy forgets its container at once). */
export const MEMORY_LIMIT = 4096;

const FRESH: ContainerMemory = {
  created: false,
  started: false,
  killed: false,
  oom: false,
  exitCode: null,
  toldStopped: false,
  died: false,
};

/**
 * One JSON line of the Engine's stream -> an EngineEvent; undefined for a line that is not one. The
 * timeNano is read from the text itself: as a JSON number it would lose its last digits.
 */
export function parseEngineEventLine(line: string): EngineEvent | undefined {
  if (line.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line, function (this: unknown, key, value, context?: { source?: string }) {
      if (key === 'timeNano' && typeof value === 'number' && context?.source !== undefined) return context.source;
      return value;
    } as (this: unknown, key: string, value: unknown) => unknown);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return parsed;
}

/** The event's time in nanoseconds since the epoch: timeNano, else time in seconds; undefined when it has neither. */
export function eventNanos(event: EngineEvent): bigint | undefined {
  if (typeof event.timeNano === 'string' && /^\d{1,20}$/.test(event.timeNano)) return BigInt(event.timeNano);
  if (typeof event.time === 'number' && Number.isSafeInteger(event.time) && event.time >= 0) return BigInt(event.time) * 1_000_000_000n;
  return undefined;
}

/** Nanoseconds since the epoch -> ISO 8601 with all nine digits of the fraction: "2026-12-01T02:47:39.708272345Z". */
export function isoNanos(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const whole = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${whole}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** Where a feed stands: the Engine event just told, by its time, its container and its action. */
export interface Cursor {
  nanos: bigint;
  container: string;
  action: string;
}

const CURSOR = /^(\d{1,20})-([0-9a-f]{12})-([a-z_]{1,20})$/;

/** The id of the event that an Engine event became: "<timeNano>-<container id, 12>-<action>". */
export function cursorId(cursor: Cursor): string {
  return `${cursor.nanos}-${cursor.container}-${cursor.action}`;
}

/** An id from cursorId, or undefined when the text is not one. */
export function parseCursor(id: string): Cursor | undefined {
  const m = CURSOR.exec(id);
  return m ? { nanos: BigInt(m[1]!), container: m[2]!, action: m[3]! } : undefined;
}

function actionOf(event: EngineEvent): string {
  return event.Action ?? event.status ?? '';
}

function containerOf(event: EngineEvent): string {
  return (event.Actor?.ID ?? event.id ?? '').slice(0, 12).toLowerCase();
}

/** The event's cursor, or undefined when it lacks a time or a container id (it is then never told). */
export function cursorOf(event: EngineEvent): Cursor | undefined {
  const nanos = eventNanos(event);
  const container = containerOf(event);
  const action = actionOf(event);
  if (nanos === undefined || !/^[0-9a-f]{12}$/.test(container) || !/^[a-z_]{1,20}$/.test(action)) return undefined;
  return { nanos, container, action };
}

function exitCodeOf(attributes: Record<string, string>): number | null {
  const text = attributes['exitCode'];
  return text !== undefined && /^-?\d{1,10}$/.test(text) ? Number(text) : null;
}

/**
 * One Engine event -> what the feed remembers after it, and the process event it is, if any. Events
 * of other types, of containers without Hydroplane's process label, and actions the mapping does
 * not read are nothing.
 */
export function mapEngineEvent(memory: FeedMemory, event: EngineEvent): { memory: FeedMemory; told: RuntimeEvent | undefined } {
  const cursor = cursorOf(event);
  const attributes = event.Actor?.Attributes ?? {};
  const processName = attributes[PROCESS_LABEL];
  if ((event.Type ?? 'container') !== 'container' || cursor === undefined || !processName) return { memory, told: undefined };
  const id = cursor.container;
  const before = memory.get(id) ?? FRESH;
  let after: ContainerMemory = { ...before };
  let told: Pick<ProcessEvent, 'type' | 'status' | 'exit_code' | 'reason'> | undefined;
  switch (cursor.action) {
    case 'create':
      after = { ...FRESH, created: true };
      told = { type: 'created', status: 'STARTING' };
      break;
    case 'start':
      after = { ...after, started: true, killed: false, oom: false, died: false, toldStopped: false, exitCode: null };
      told = { type: 'running', status: 'RUNNING' };
      break;
    case 'kill':
      after.killed = true;
      break;
    case 'oom':
      after.oom = true;
      break;
    case 'die':
    case 'died': {
      const exitCode = exitCodeOf(attributes);
      after = { ...after, died: true, exitCode };
      if (before.created && !before.started) {
        told = {
          type: 'failed',
          status: 'FAILED',
          reason: `the container could not start${exitCode === null ? '' : ` (exit code ${exitCode})`}`,
        };
      } else if (before.killed) {
        after.toldStopped = true;
        told = { type: 'stopped', status: 'EXITED', exit_code: exitCode };
      } else {
        told = { type: 'exited', status: 'EXITED', exit_code: exitCode };
        if (before.oom) told.reason = 'OOMKilled';
      }
      break;
    }
    case 'stop':
      // Docker's stop comes after a die already told as stopped; Podman's after one told as exited.
      if (before.died && !before.toldStopped) {
        after.toldStopped = true;
        told = { type: 'stopped', status: 'EXITED', exit_code: before.exitCode };
      }
      break;
    case 'destroy':
    case 'remove':
      told = { type: 'removed', status: 'REMOVED' };
      break;
    default:
      break;
  }
  const next = new Map(memory);
  next.delete(id);
  if (cursor.action !== 'destroy' && cursor.action !== 'remove') {
    next.set(id, after);
    // A Map iterates in insertion order, and each container is re-inserted when it changes: the first is the stalest.
    if (next.size > MEMORY_LIMIT) next.delete(next.keys().next().value!);
  }
  if (told === undefined) return { memory: next, told: undefined };
  const out: RuntimeEvent = {
    id: cursorId(cursor),
    type: told.type,
    process_name: processName,
    group: attributes[GROUP_LABEL] || null,
    time: isoNanos(cursor.nanos),
    status: told.status,
  };
  if (told.exit_code !== undefined) out.exit_code = told.exit_code;
  if (told.reason !== undefined) out.reason = boundedText(told.reason);
  return { memory: next, told: out };
}

/**
 * A feed of process events from Engine events in the Engine's order, of the processes that the
 * filter asks for, resuming after a cursor when given one. The Engine replays from a whole second, and the feed asks it to start earlier still
 * (the caller's lookback) to learn about kills and starts again: events before the cursor only
 * teach the memory. Events of the cursor's very nanosecond are held until the cursor's own event
 * shows which of them came before it; should it never come (a feed with another filter), they are
 * told once a later event arrives, rather than lost.
 */
export class EngineEventFeed {
  #memory: FeedMemory = new Map();
  readonly #after: Cursor | undefined;
  readonly #filter: EventFilter;
  /** Before the cursor: learning only. */
  #replaying: boolean;
  #held: RuntimeEvent[] = [];

  constructor(after?: Cursor, filter: EventFilter = {}) {
    this.#after = after;
    this.#filter = filter;
    this.#replaying = after !== undefined;
  }

  /** The process events that this Engine event makes the feed tell now (none, one, or the held ones then it). */
  push(event: EngineEvent): RuntimeEvent[] {
    const { memory, told: mapped } = mapEngineEvent(this.#memory, event);
    this.#memory = memory;
    const told = mapped && matchesFilter(mapped, this.#filter) ? mapped : undefined;
    if (!this.#replaying) return told ? [told] : [];
    const after = this.#after!;
    const cursor = cursorOf(event);
    if (cursor === undefined || cursor.nanos < after.nanos) return [];
    if (cursor.nanos === after.nanos) {
      if (cursor.container === after.container && cursor.action === after.action) {
        this.#held = [];
        this.#replaying = false;
        return [];
      }
      if (told) this.#held.push(told);
      return [];
    }
    // Past the cursor's nanosecond without meeting it.
    this.#replaying = false;
    const out = [...this.#held, ...(told ? [told] : [])];
    this.#held = [];
    return out;
  }
}
