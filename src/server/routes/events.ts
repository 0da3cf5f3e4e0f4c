// GET /events: the runtime's change feed as Server-Sent Events. The server keeps no history: each
// follower has its own feed from the runtime, opened before the answer so that a runtime that cannot
// give one is an ordinary error answer, and released when the follower leaves or the server closes.
// An event's id is the runtime's cursor, so a client that reconnects (to this server or another)
// with Last-Event-ID resumes where it was, as far as the runtime still remembers.
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, HydroplaneError, errorBody } from '../../errors.ts';
import type { EventOptions, Runtime, RuntimeEvent } from '../../runtimes/runtime.ts';
import { ProcessEvent } from '../../spec/process-event.ts';
import type { FeedSlots } from '../feed-slots.ts';
import { GroupParam, NameParam } from './shared.ts';

/** Longest event id accepted to resume after: far more than any runtime's cursor. */
export const EVENT_ID_MAX = 200;

const EventId = z
  .string()
  .max(EVENT_ID_MAX, `an event id is at most ${EVENT_ID_MAX} characters`)
  .regex(/^[\x21-\x7e]+$/, 'an event id is printable ASCII without spaces, as this server sends them');

export const EventQuery = z
  .strictObject({
    group: GroupParam.shape.group.optional().describe("Only this group's processes."),
    process: NameParam.shape.process_name.optional().describe('Only this process.'),
    last_event_id: EventId.optional().describe(
      'For clients that cannot set the Last-Event-ID header: resume after this event id. The header, when sent, wins ' +
        "(a browser's EventSource sends it on each reconnection, while the URL keeps the first id).",
    ),
  })
  .describe('Which processes, and where to resume.');

/**
 * The Last-Event-ID header, checked as the query's last_event_id is. It is not declared in the
 * OpenAPI document: generated clients name both `lastEventId`, and would not compile; the query
 * parameter serves them, and the operation's description names the header.
 */
function lastEventIdHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = EventId.safeParse(Array.isArray(value) ? value.join(',') : value);
  if (!parsed.success) {
    throw new HydroplaneError(
      'invalid_request',
      `invalid headers: last-event-id: ${parsed.error.issues[0]?.message ?? 'not an event id'}`,
      {
        fields: [{ path: 'last-event-id', message: parsed.error.issues[0]?.message ?? 'not an event id' }],
      },
    );
  }
  return parsed.data;
}

export interface EventRouteOptions {
  runtime: Runtime;
  /** Aborts when the server closes: every stream ends. */
  closing: AbortSignal;
  /** How often a comment line goes out on a quiet stream, in ms, so that proxies and clients see it alive. */
  heartbeatMs: number;
  /** The runtime feeds this server may hold; a stream that finds none free is refused with 503. */
  slots: FeedSlots;
}

/** The default of maxStreams (the config's max_event_streams). */
export const DEFAULT_MAX_EVENT_STREAMS = 256;

/** How long an EventSource waits before it reconnects, in ms (the stream's `retry:` field). */
export const RECONNECT_MS = 2000;

export const eventRoutes: FastifyPluginAsyncZod<EventRouteOptions> = async (app, { runtime, closing, heartbeatMs, slots }) => {
  app.get(
    '/events',
    {
      schema: {
        summary: 'Follow process events',
        operationId: 'get_events',
        description:
          'A text/event-stream (Server-Sent Events) of lifecycle changes of the processes: each is `event: process`, its `id:` ' +
          "(the runtime's cursor) and one line of `data:` holding a ProcessEvent as JSON. A comment line (`: keep-alive`) comes " +
          'on a quiet stream every 15 s. The stream lasts until the client leaves, the server stops or the runtime ends its feed; ' +
          'then reconnect with the Last-Event-ID header (EventSource does it by itself), or last_event_id, to get what was missed, ' +
          'as far as the runtime still knows it (docs/events.md). A server follows at most max_event_streams feeds at once (default 256; waits count too); past that it answers 503 too_many_event_streams. An error of the runtime while streaming comes as `event: error` with an ErrorBody, and ends the stream.',
        tags: ['processes'],
        querystring: EventQuery,
        response: {
          200: {
            description: 'The event stream; the schema is that of the data of each `event: process`.',
            content: { 'text/event-stream': { schema: ProcessEvent } },
          },
          400: ErrorBody,
          401: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { group, process, last_event_id } = request.query;
      const after = lastEventIdHeader(request.headers['last-event-id']) ?? last_event_id;
      // The client going away (or the server closing) ends the runtime's feed and releases its connection.
      // Each stream holds a runtime connection and its file descriptors: a bound, so that no client
      // exhausts them (the others' streams, every other route's runtime calls).
      const release = slots.take();
      if (release === undefined) {
        throw new HydroplaneError(
          'too_many_event_streams',
          `this server already follows ${slots.limit} event feeds, its limit (max_event_streams in the config, docs/events.md); ` +
            'close one, or follow several processes with one stream (?group=)',
        );
      }
      const gone = new AbortController();
      reply.raw.once('close', () => {
        release();
        gone.abort();
      });
      const signal = AbortSignal.any([gone.signal, closing]);
      const options: EventOptions = { signal, filter: {} };
      if (group !== undefined) options.filter!.group = group;
      if (process !== undefined) options.filter!.processName = process;
      if (after !== undefined) options.after = after;
      const feed = await runtime.events(options);
      return (
        reply
          .header('content-type', 'text/event-stream')
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          // nginx would otherwise hold the events back to fill its buffer.
          .header('x-accel-buffering', 'no')
          .send(Readable.from(eventStream(feed, heartbeatMs, signal, (err) => request.log.warn({ err }, 'event feed failed'))) as never)
      );
    },
  );
};

/** One event in the stream's text format. */
export function eventText(event: RuntimeEvent): string {
  const { id, ...data } = event;
  return `id: ${id}\nevent: process\ndata: ${JSON.stringify(data)}\n\n`;
}

const HEARTBEAT = Symbol('heartbeat');

/**
 * The stream's text: a first line at once (the headers go out with it), then each event, and a
 * comment when nothing has come for `heartbeatMs`. Ends with the feed; an error of the feed is told
 * as an `error` event, and ends it too.
 */
export async function* eventStream(
  feed: AsyncIterable<RuntimeEvent>,
  heartbeatMs: number,
  signal: AbortSignal,
  onError: (err: unknown) => void,
): AsyncGenerator<string> {
  yield `retry: ${RECONNECT_MS}\n\n`;
  const events = feed[Symbol.asyncIterator]();
  let next = events.next();
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const beat = new Promise<typeof HEARTBEAT>((resolve) => (timer = setTimeout(() => resolve(HEARTBEAT), heartbeatMs)));
      const result = await Promise.race([next, beat]);
      clearTimeout(timer);
      if (result === HEARTBEAT) {
        yield ': keep-alive\n\n';
        continue;
      }
      if (result.done) return;
      yield eventText(result.value);
      next = events.next();
    }
  } catch (err) {
    if (signal.aborted) return;
    onError(err);
    const problem =
      err instanceof HydroplaneError ? err : new HydroplaneError('internal', 'the event feed failed; the server log says why');
    yield `event: error\ndata: ${JSON.stringify(errorBody(problem))}\n\n`;
  } finally {
    clearTimeout(timer);
    // Not awaited: a feed still waiting for its next event ends when the signal aborts, not before.
    void events.return?.()?.catch(() => {});
  }
}
