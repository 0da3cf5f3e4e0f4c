// The rows of the process table as the event stream changes them. An event says only what
// changed (status, exit code, reason, when); the list says the rest (addresses, image), so the
// page reads the list when it connects and after a process appears or starts, and applies the
// events in between here. Pure; a row that does not change keeps its object, so that the table
// re-renders only the rows an event touches.
import type { ProcessEvent } from '../spec/process-event.ts';
import type { ProcessInfo } from '../spec/process-info.ts';

export type { ProcessEvent };

const TYPES: ReadonlySet<string> = new Set(['created', 'running', 'exited', 'failed', 'stopped', 'removed']);
const STATUSES: ReadonlySet<string> = new Set(['STARTING', 'RUNNING', 'EXITED', 'FAILED', 'REMOVED']);

/**
 * The event in an SSE message's data, or undefined when it is not one (not JSON, a type or status
 * that this page does not know). Checked by hand: the schema's library would triple the page's size.
 */
export function asProcessEvent(data: string): ProcessEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e['type'] !== 'string' || !TYPES.has(e['type'])) return undefined;
  if (typeof e['status'] !== 'string' || !STATUSES.has(e['status'])) return undefined;
  if (typeof e['process_name'] !== 'string' || e['process_name'] === '') return undefined;
  if (typeof e['time'] !== 'string' || Number.isNaN(Date.parse(e['time']))) return undefined;
  if (e['group'] !== null && typeof e['group'] !== 'string') return undefined;
  const event: ProcessEvent = {
    type: e['type'] as ProcessEvent['type'],
    process_name: e['process_name'],
    group: e['group'] ?? null,
    time: e['time'],
    status: e['status'] as ProcessEvent['status'],
  };
  if (e['exit_code'] === null || Number.isInteger(e['exit_code'])) event.exit_code = e['exit_code'] as number | null;
  if (typeof e['reason'] === 'string') event.reason = e['reason'];
  return event;
}

/** How far apart a runtime's event time and its own record of the same moment may be. */
const SAME_MOMENT_MS = 1000;

/** The latest moment a row knows about: an event from before it is old news (a replay, or a list that was newer). */
function knownUntil(row: ProcessInfo): number {
  let latest = Date.parse(row.created);
  for (const time of [row.started, row.finished]) if (time !== undefined) latest = Math.max(latest, Date.parse(time));
  return Number.isNaN(latest) ? -Infinity : latest;
}

function withoutEnd(row: ProcessInfo): ProcessInfo {
  const out = { ...row };
  delete out.exit_code;
  delete out.reason;
  delete out.finished;
  return out;
}

/** The row after one event; undefined when the process is gone. */
export function rowAfter(row: ProcessInfo | undefined, event: ProcessEvent): ProcessInfo | undefined {
  const time = Date.parse(event.time);
  if (row !== undefined && time < knownUntil(row)) return row;
  if (event.type === 'removed' || event.status === 'REMOVED') return undefined;
  const fresh: ProcessInfo = {
    process_name: event.process_name,
    group: event.group,
    socket_addresses: [],
    created: event.time,
    status: event.status,
  };
  // A process first seen through an event other than created: the list read that it causes fills the rest.
  if (row === undefined) return event.type === 'created' ? fresh : (rowAfter(fresh, event) ?? fresh);
  let next: ProcessInfo;
  if (event.type === 'created') {
    // The creation of the row's own container, replayed or noted a moment apart from the list's time.
    if (time <= knownUntil(row) + SAME_MOMENT_MS) return row;
    // A new container or Deployment of that name (an apply replaced it): nothing of the old one's life holds.
    next = { ...fresh, socket_addresses: row.socket_addresses };
    if (row.image !== undefined) next.image = row.image;
  } else if (event.type === 'running') {
    next = { ...withoutEnd(row), status: event.status, started: event.time };
  } else if (event.status === 'EXITED' || event.status === 'FAILED') {
    // exited, failed, stopped: it ended; or, already ended, another word for it (Docker's stop after its die).
    const already = row.status === 'EXITED' || row.status === 'FAILED';
    next = already ? { ...row, status: event.status } : { ...withoutEnd(row), status: event.status };
    if (!already && row.started !== undefined) next.finished = event.time;
    if (event.exit_code !== undefined) next.exit_code = event.exit_code;
    if (event.reason !== undefined) next.reason = event.reason;
  } else {
    // On its way (stopping, restarting): the status says where it is.
    next = { ...row, status: event.status };
    if (event.reason !== undefined) next.reason = event.reason;
  }
  next.group = event.group;
  return sameRow(row, next) ? row : next;
}

/** Whether two rows show the same thing. */
export function sameRow(a: ProcessInfo, b: ProcessInfo): boolean {
  return JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));
}

function normalized(row: ProcessInfo): unknown {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** Orders rows by name, as the list does. */
function byName(a: ProcessInfo, b: ProcessInfo): number {
  return a.process_name < b.process_name ? -1 : a.process_name > b.process_name ? 1 : 0;
}

/** The rows (sorted by name) after the events, in order; the same array when nothing changed. */
export function applyEvents(rows: readonly ProcessInfo[], events: readonly ProcessEvent[]): readonly ProcessInfo[] {
  let out = rows;
  for (const event of events) {
    const index = out.findIndex((row) => row.process_name === event.process_name);
    const before = index === -1 ? undefined : out[index];
    const after = rowAfter(before, event);
    if (after === before) continue;
    const copy = [...out];
    if (after === undefined) copy.splice(index, 1);
    else if (before === undefined) {
      copy.push(after);
      copy.sort(byName);
    } else copy[index] = after;
    out = copy;
  }
  return out;
}

/**
 * A list just read, merged into the rows shown: a listed process that the rows show the same way
 * keeps its row object (so it is not re-rendered), and times that an event gave and the list
 * leaves out (Docker's list has no start and end times) are kept while the process is in the same
 * state of the same life.
 */
export function mergeList(rows: readonly ProcessInfo[], list: readonly ProcessInfo[]): ProcessInfo[] {
  const previous = new Map(rows.map((row) => [row.process_name, row]));
  return [...list].sort(byName).map((listed) => {
    const row = previous.get(listed.process_name);
    if (row === undefined) return listed;
    let merged = listed;
    if (listed.started === undefined && row.started !== undefined && row.status === listed.status && sameLife(row, listed)) {
      merged = { ...listed, started: row.started };
      if (row.finished !== undefined) merged.finished = row.finished;
    }
    return sameRow(row, merged) ? row : merged;
  });
}

/** Whether `row`'s start belongs to the life that `listed` was created for (and not to one an apply replaced). */
function sameLife(row: ProcessInfo, listed: ProcessInfo): boolean {
  // An event's time and the runtime's creation time of one container differ by a moment.
  return Date.parse(row.started!) >= Date.parse(listed.created) - SAME_MOMENT_MS;
}

/** Whether the list should be read after this event: for the addresses and image of a process that appeared or started. */
export function wantsList(rows: readonly ProcessInfo[], event: ProcessEvent): boolean {
  if (event.type === 'created' || event.type === 'running') return true;
  return event.type !== 'removed' && event.status !== 'REMOVED' && !rows.some((row) => row.process_name === event.process_name);
}
