// A short history per process, kept in the page: the events the stream gave (created, running,
// exited with its code, ...) and, for what came before the page connected, what the list says
// (created, started, finished). The server keeps no history; a reload starts again from the list.
// Pure: each function answers a new map and keeps the entries of the processes it did not touch.
import type { ProcessEvent } from '../spec/process-event.ts';
import type { ProcessInfo } from '../spec/process-info.ts';

/** The most entries kept per process. */
export const HISTORY_LENGTH = 10;

export interface HistoryEntry {
  type: ProcessEvent['type'];
  time: string;
  exit_code?: number | null;
  reason?: string;
}

export type History = ReadonlyMap<string, readonly HistoryEntry[]>;

const at = (entry: HistoryEntry) => Date.parse(entry.time);

/** created, running, ended (exited, failed, stopped), removed: the steps of a life that a list's times and events both tell. */
const STEP: Record<HistoryEntry['type'], string> = {
  created: 'created',
  running: 'running',
  exited: 'ended',
  failed: 'ended',
  stopped: 'ended',
  removed: 'removed',
};
// Of two words for one end, the one that says more: stopped (someone did), failed (it could not run), exited.
const SAYS_MORE: Record<HistoryEntry['type'], number> = { created: 0, running: 0, removed: 0, exited: 0, stopped: 1, failed: 2 };

/**
 * Whether two entries tell of the same step at the same moment: the list's time of a start and the
 * event's differ by a moment, and Docker tells one stop as a die and a stop.
 */
function same(a: HistoryEntry, b: HistoryEntry): boolean {
  return STEP[a.type] === STEP[b.type] && Math.abs(at(a) - at(b)) <= 1000;
}

function merged(old: HistoryEntry, entry: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = { type: SAYS_MORE[entry.type] > SAYS_MORE[old.type] ? entry.type : old.type, time: old.time };
  const code = entry.exit_code !== undefined ? entry.exit_code : old.exit_code;
  if (code !== undefined) out.exit_code = code;
  const reason = entry.reason ?? old.reason;
  if (reason !== undefined) out.reason = reason;
  return out;
}

function added(entries: readonly HistoryEntry[], entry: HistoryEntry): readonly HistoryEntry[] {
  const match = entries.findIndex((e) => same(e, entry));
  if (match !== -1) {
    const old = entries[match]!;
    const next = merged(old, entry);
    if (next.type === old.type && next.exit_code === old.exit_code && next.reason === old.reason) return entries;
    return entries.map((e, i) => (i === match ? next : e));
  }
  const out = [...entries, entry].sort((a, b) => at(a) - at(b));
  if (out.length <= HISTORY_LENGTH) return out;
  // Older than all that is kept (a list telling again of a start long past): nothing changes.
  return out[0] === entry ? entries : out.slice(-HISTORY_LENGTH);
}

/** The history with one event from the stream. */
export function recordEvent(history: History, event: ProcessEvent): History {
  const entry: HistoryEntry = { type: event.type, time: event.time };
  if (event.exit_code !== undefined) entry.exit_code = event.exit_code;
  if (event.reason !== undefined) entry.reason = event.reason;
  const before = history.get(event.process_name) ?? [];
  const after = added(before, entry);
  return after === before ? history : new Map(history).set(event.process_name, after);
}

/** The entries that a listed process's own times tell. */
export function entriesOf(process: ProcessInfo): HistoryEntry[] {
  const out: HistoryEntry[] = [{ type: 'created', time: process.created }];
  if (process.started !== undefined) out.push({ type: 'running', time: process.started });
  if (process.finished !== undefined) {
    const end: HistoryEntry = { type: process.status === 'FAILED' ? 'failed' : 'exited', time: process.finished };
    if (process.exit_code !== undefined) end.exit_code = process.exit_code;
    if (process.reason !== undefined) end.reason = process.reason;
    out.push(end);
  }
  return out;
}

/**
 * The history after a list: each listed process's own times are added where the stream did not
 * already tell them, and the processes no longer listed are forgotten.
 */
export function recordList(history: History, list: readonly ProcessInfo[]): History {
  let changed = history.size !== 0 && list.length < history.size;
  const out = new Map<string, readonly HistoryEntry[]>();
  for (const process of list) {
    const before = history.get(process.process_name) ?? [];
    let after = before;
    for (const entry of entriesOf(process)) after = added(after, entry);
    if (after !== before) changed = true;
    out.set(process.process_name, after);
  }
  if (!changed) for (const name of history.keys()) if (!out.has(name)) changed = true;
  return changed ? out : history;
}
