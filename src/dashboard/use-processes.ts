// The processes the page shows, kept current: from GET /events when the server has it (the list is
// read when the stream opens, and again, at most every few seconds, after a process appears or
// starts, for its addresses), else by reading the list every 3 seconds while the tab is visible.
// Also the times that a list leaves out (asked per process, for the rows that the table renders),
// and each process's short history.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf, type ProcessInfo } from './api.ts';
import { followEvents, type Connection } from './event-stream.ts';
import { recordEvent, recordList, type History } from './history.ts';
import { applyEvents, mergeList, wantsList, type ProcessEvent } from './process-rows.ts';
import { timesKey, timesToAsk, withTimes } from './process-times.ts';

export const REFRESH_MS = 3000;
/** The least time between two list reads that events asked for. */
const LIST_AFTER_EVENTS_MS = 2000;
/** GET /process/{name} calls in flight at once, for the times a list leaves out. */
const DETAILS_AT_ONCE = 4;

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
  /** The rows that the table renders, each time they change: their times are asked, if the list left them out. */
  rendered: (rows: readonly ProcessInfo[]) => void;
}

/** Runs `task` once in the next frame (once a second in a hidden tab, which gets no frames); asking again before then adds nothing. */
function framed(task: () => void): () => void {
  let scheduled = false;
  const run = () => {
    scheduled = false;
    task();
  };
  return () => {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) setTimeout(run, 1000);
    else requestAnimationFrame(run);
  };
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
   * The times that the list left out, from GET /process/{name}: for the rendered rows only, a few
   * at a time, once per process and state (timesKey). A failed ask is asked again after the next
   * list. Answers are applied together, once a frame, so that a run of them renders once.
   */
  const [times] = useState(() => {
    const asked = new Set<string>();
    const failed = new Set<string>();
    let rendered = new Set<string>();
    let inFlight = 0;
    let generation = 0;
    const answers: ProcessInfo[] = [];
    const apply = framed(() => {
      const found = answers.splice(0);
      const before = rowsNow.current;
      if (before !== undefined) show(withTimes(before, found));
    });
    const pump = () => {
      if (inFlight >= DETAILS_AT_ONCE) return;
      const shown = (rowsNow.current ?? []).filter((p) => rendered.has(p.process_name));
      for (const p of timesToAsk(shown, asked).slice(0, DETAILS_AT_ONCE - inFlight)) {
        const key = timesKey(p);
        const mine = generation;
        asked.add(key);
        inFlight++;
        api
          .get(p.process_name)
          .then(
            (answer) => {
              if (mine !== generation) return;
              answers.push(answer);
              apply();
            },
            () => failed.add(key),
          )
          .finally(() => {
            if (mine !== generation) return;
            inFlight--;
            pump();
          });
      }
    };
    return {
      pump,
      /** The table renders these rows now. */
      rendered: (rows: readonly ProcessInfo[]) => {
        rendered = new Set(rows.map((p) => p.process_name));
        pump();
      },
      /** A list was read: what it no longer has is forgotten, and what failed is asked again. */
      listed: (list: readonly ProcessInfo[]) => {
        const keys = new Set(list.map(timesKey));
        for (const key of asked) if (!keys.has(key) || failed.has(key)) asked.delete(key);
        failed.clear();
        pump();
      },
      /** Signed out: nothing asked is kept, and answers still on their way are dropped. */
      forget: () => {
        generation++;
        asked.clear();
        failed.clear();
        answers.length = 0;
        inFlight = 0;
      },
    };
  });

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
        times.listed(merged);
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
    times.forget();
    rowsNow.current = undefined;
    setRows(undefined);
  }, [ready, forget, times]);

  // What the rows' own times tell goes into the history too (what happened before the page came).
  useEffect(() => {
    if (rows !== undefined) setHistory((previous) => recordList(previous, rows));
  }, [rows]);
  const refresh = useCallback(() => requestList(true), [requestList]);
  return { rows, history, connection, updated, listError, refresh, rendered: times.rendered };
}
