// The processes the page shows, kept current: from GET /events when the server has it (the list is
// read when the stream opens, and again, at most every few seconds, after a process appears or
// starts, for its addresses), else by reading the list every 3 seconds while the tab is visible.
// Also the times that a list leaves out (asked per process), and each process's short history.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf, type ProcessInfo } from './api.ts';
import { followEvents, type Connection } from './event-stream.ts';
import { recordEvent, recordList, type History } from './history.ts';
import { applyEvents, mergeList, wantsList, type ProcessEvent } from './process-rows.ts';

export const REFRESH_MS = 3000;
/** The least time between two list reads that events asked for. */
const LIST_AFTER_EVENTS_MS = 2000;
/** GET /process/{name} calls in flight at once, for the times a list leaves out. */
const DETAILS_AT_ONCE = 4;

/** One process in one state: its times do not change until its status does. */
const detailKey = (p: ProcessInfo) => `${p.process_name}\n${p.created}\n${p.status}`;

// A row and the detail that completes it give the same object each time, so that the row is not re-rendered.
const completed = new WeakMap<ProcessInfo, { detail: ProcessInfo; out: ProcessInfo }>();
function withTimesOf(listed: ProcessInfo, detail: ProcessInfo | undefined): ProcessInfo {
  if (!detail) return listed;
  const known = completed.get(listed);
  if (known?.detail === detail) return known.out;
  const out = { ...listed };
  if (detail.started !== undefined) out.started = detail.started;
  if (detail.finished !== undefined) out.finished = detail.finished;
  completed.set(listed, { detail, out });
  return out;
}

export interface Processes {
  /** Sorted by name; undefined until the first list. */
  rows: readonly ProcessInfo[] | undefined;
  history: History;
  connection: Connection;
  /** When the list was last read. */
  updated: Date | undefined;
  listError: string | undefined;
  /** Reads the list now (after an action). */
  refresh: () => void;
}

export function useProcesses({
  ready,
  group,
  onList,
  onFailure,
}: {
  ready: boolean;
  /** The group filter: the stream then brings that group's events only. */
  group: string;
  /** Each list as read. */
  onList: (list: readonly ProcessInfo[]) => void;
  /** A failed call: a 401 signs out. */
  onFailure: (error: unknown, show: (message: string) => void) => void;
}): Processes {
  const [rows, setRows] = useState<readonly ProcessInfo[]>();
  const rowsNow = useRef<readonly ProcessInfo[] | undefined>(undefined);
  const [details, setDetails] = useState<ReadonlyMap<string, ProcessInfo>>(new Map());
  const asked = useRef(new Set<string>());
  const [history, setHistory] = useState<History>(new Map());
  const [connection, setConnection] = useState<Connection>('connecting');
  const [updated, setUpdated] = useState<Date>();
  const [listError, setListError] = useState<string>();
  const callbacks = useRef({ onList, onFailure });
  callbacks.current = { onList, onFailure };

  const show = useCallback((next: readonly ProcessInfo[]) => {
    rowsNow.current = next;
    setRows(next);
  }, []);

  /**
   * Asks GET /process/{name} for the times that the list left out, a few at a time, once per
   * process and status; forgets what is no longer listed, and asks again after a failure.
   */
  const fillTimes = useCallback(async (list: readonly ProcessInfo[], live: () => boolean) => {
    const listed = new Set(list.map(detailKey));
    for (const key of asked.current) if (!listed.has(key)) asked.current.delete(key);
    setDetails((previous) => (previous.size === 0 ? previous : new Map([...previous].filter(([key]) => listed.has(key)))));
    const missing = list.filter((p) => p.started === undefined && p.status !== 'STARTING' && !asked.current.has(detailKey(p)));
    for (const p of missing) asked.current.add(detailKey(p));
    const answered = new Set<string>();
    for (let i = 0; i < missing.length && live(); i += DETAILS_AT_ONCE) {
      const batch = missing.slice(i, i + DETAILS_AT_ONCE);
      const answers = await Promise.allSettled(batch.map((p) => api.get(p.process_name)));
      const found: ProcessInfo[] = [];
      answers.forEach((answer, n) => {
        if (answer.status === 'fulfilled') found.push(answer.value);
        else asked.current.delete(detailKey(batch[n]!));
      });
      if (!live()) break;
      for (const p of found) answered.add(detailKey(p));
      setDetails((previous) => new Map([...previous, ...found.map((p) => [detailKey(p), p] as const)]));
    }
    // Left before the end (a newer load took over): what was not answered is asked again next time.
    if (!live()) for (const p of missing) if (!answered.has(detailKey(p))) asked.current.delete(detailKey(p));
  }, []);

  // One list read at a time; a read asked for meanwhile follows it. Events that come while a list
  // is read may or may not be in it: they are applied on top, and the list is read once more.
  const [{ requestList, forget, noteEvent }] = useState(() => {
    let inFlight = false;
    let again = false;
    let eventsMeanwhile = false;
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let generation = 0;
    const load = async () => {
      const mine = generation;
      const live = () => generation === mine;
      inFlight = true;
      eventsMeanwhile = false;
      last = Date.now();
      try {
        const list = await api.list();
        if (!live()) return;
        const merged = mergeList(rowsNow.current ?? [], list);
        show(merged);
        void fillTimes(merged, live);
        setListError(undefined);
        setUpdated(new Date());
        callbacks.current.onList(merged);
      } catch (error) {
        if (live()) callbacks.current.onFailure(error, setListError);
      } finally {
        if (live()) {
          inFlight = false;
          if (again || eventsMeanwhile) {
            again = false;
            requestList();
          }
        }
      }
    };
    /** Reads the list: now, or (after events) no sooner than LIST_AFTER_EVENTS_MS after the last read. */
    const requestList = (now = false) => {
      if (inFlight) {
        again = true;
        return;
      }
      if (timer !== undefined) {
        if (!now) return;
        clearTimeout(timer);
      }
      timer = setTimeout(
        () => {
          timer = undefined;
          void load();
        },
        now ? 0 : Math.max(0, last + LIST_AFTER_EVENTS_MS - Date.now()),
      );
    };
    const forget = () => {
      generation++;
      inFlight = false;
      again = false;
      clearTimeout(timer);
      timer = undefined;
    };
    const noteEvent = () => {
      if (inFlight) eventsMeanwhile = true;
    };
    return { requestList, forget, noteEvent };
  });

  // Each time the stream's filter (or the token) changes, a new stream and, once it opens, a new list.
  useEffect(() => {
    if (!ready) return;
    const abort = new AbortController();
    const pending: ProcessEvent[] = [];
    let scheduled = false;
    // Events come in bursts (a group stopped): applied together, once per frame.
    const flush = () => {
      scheduled = false;
      const events = pending.splice(0);
      const before = rowsNow.current;
      if (before !== undefined) {
        if (events.some((event) => wantsList(before, event))) requestList();
        show(applyEvents(before, events));
      }
      setHistory((previous) => events.reduce(recordEvent, previous));
    };
    void followEvents(
      {
        onOpen: () => requestList(true),
        onEvent: (event) => {
          noteEvent();
          pending.push(event);
          if (!scheduled) {
            scheduled = true;
            // A hidden tab gets no frames: there, once a second, so that events do not pile up.
            if (document.hidden) setTimeout(flush, 1000);
            else requestAnimationFrame(flush);
          }
        },
        onConnection: setConnection,
        onUnauthorized: (error: ApiError) => callbacks.current.onFailure(error, setListError),
      },
      abort.signal,
      group,
    ).catch((error: unknown) => setListError(messageOf(error)));
    return () => abort.abort();
  }, [ready, group, requestList, noteEvent, show]);

  // Polling, while there is no stream; and the first list, whatever the stream does.
  useEffect(() => {
    if (!ready) return;
    if (rowsNow.current === undefined) requestList(true);
    if (connection !== 'polling') return;
    const timer = setInterval(() => {
      if (!document.hidden) requestList(true);
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [ready, connection, requestList]);

  // Signed out: nothing of what was shown stays.
  useEffect(() => {
    if (ready) return;
    forget();
    rowsNow.current = undefined;
    setRows(undefined);
  }, [ready, forget]);

  const shown = useShown(rows, details);
  // What the rows' own times tell goes into the history too (what happened before the page came).
  useEffect(() => {
    if (shown !== undefined) setHistory((previous) => recordList(previous, shown));
  }, [shown]);
  const refresh = useCallback(() => requestList(true), [requestList]);
  return { rows: shown, history, connection, updated, listError, refresh };
}

/** The rows with the times asked for them; the same objects as long as nothing changed. */
function useShown(rows: readonly ProcessInfo[] | undefined, details: ReadonlyMap<string, ProcessInfo>) {
  const memo = useRef<{ rows: typeof rows; details: typeof details; out: typeof rows }>({ rows: undefined, details, out: undefined });
  if (memo.current.rows !== rows || memo.current.details !== details) {
    memo.current = { rows, details, out: rows?.map((p) => (p.started === undefined ? withTimesOf(p, details.get(detailKey(p))) : p)) };
  }
  return memo.current.out;
}
