// Follows GET /events for the page: reads the stream with fetch() (EventSource cannot send the
// bearer token) through the SSE parser, reconnects with Last-Event-ID after a growing pause, and
// gives up on the stream (the page then polls the list) when the server has no /events (404, an
// older server) or when it keeps failing; after giving up for failures it tries again now and then.
import { ApiError, openEvents } from './api.ts';
import { asProcessEvent, type ProcessEvent } from './process-rows.ts';
import { createSseParser } from './sse.ts';

/** live: the stream is open. reconnecting: it broke and is being opened again. polling: no stream; the page reads the list every few seconds. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'polling';

export interface StreamHandlers {
  /** The stream (re)opened: what happened while it was closed is not all in it, so read the list. */
  onOpen: () => void;
  onEvent: (event: ProcessEvent) => void;
  onConnection: (state: Connection) => void;
  /** A 401: the token is no longer good. */
  onUnauthorized: (error: ApiError) => void;
}

/** Failed attempts in a row (none of which gave an event or a heartbeat) before the page polls instead. */
export const FAILURES_BEFORE_POLLING = 4;
/** While polling after failures, how often the stream is tried again. */
export const RETRY_WHILE_POLLING_MS = 60_000;
/** Silence after which the stream is taken for dead (a connection that a network dropped unsaid): three of the server's 15 s keep-alives. */
export const SILENCE_MS = 45_000;

/** The pause before attempt `failures` + 1: 1, 2, 4, 8 ... up to 30 s, with a little jitter so that many pages do not come back at once. */
export function backoffMs(failures: number, random = Math.random()): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Follows the stream (of one group's processes, or of all for '') until `signal` aborts. */
export async function followEvents(handlers: StreamHandlers, signal: AbortSignal, group = ''): Promise<void> {
  let lastEventId = '';
  let retry: number | undefined;
  let failures = 0;
  handlers.onConnection('connecting');
  while (!signal.aborted) {
    let heard = false;
    // This attempt's own end: the page leaving, or a silence too long.
    const attempt = new AbortController();
    const leave = () => attempt.abort();
    signal.addEventListener('abort', leave, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => attempt.abort(), SILENCE_MS);
    };
    try {
      const response = await openEvents({ lastEventId, group }, attempt.signal);
      if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        // Not a stream at all (a proxy's page?): as good as no /events.
        void response.body?.cancel();
        handlers.onConnection('polling');
        return;
      }
      handlers.onConnection('live');
      handlers.onOpen();
      const parser = createSseParser();
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      listen();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        listen();
        const comments = parser.comments;
        for (const message of parser.push(value)) {
          heard = true;
          // An error of the runtime ends the stream; a type this page does not know (a newer server's?) is left out.
          const event = message.event === 'process' ? asProcessEvent(message.data) : undefined;
          if (event) handlers.onEvent(event);
        }
        if (parser.comments > comments) heard = true;
        lastEventId = parser.lastEventId;
        retry = parser.retry ?? retry;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError) {
        if (error.status === 401) {
          handlers.onUnauthorized(error);
          return;
        }
        // No /events (an older server), or a runtime that has no change feed: the list, then.
        if (error.status === 404 || error.status === 405 || error.status === 501 || error.code === 'unsupported') {
          handlers.onConnection('polling');
          return;
        }
        // A cursor the runtime no longer knows: start afresh (the list read on open covers the gap).
        if (error.status === 400 || error.status === 410) lastEventId = '';
      }
    } finally {
      clearTimeout(silence);
      signal.removeEventListener('abort', leave);
      attempt.abort();
    }
    if (signal.aborted) return;
    failures = heard ? 1 : failures + 1;
    if (failures >= FAILURES_BEFORE_POLLING) {
      handlers.onConnection('polling');
      await sleep(RETRY_WHILE_POLLING_MS, signal);
    } else {
      handlers.onConnection('reconnecting');
      // After a stream that worked, the pause the server asks for (its retry field); else a growing one.
      await sleep(failures === 1 && retry !== undefined ? retry : backoffMs(failures), signal);
    }
  }
}
