import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../../errors.ts';
import type { LogOptions, Runtime } from '../../runtimes/runtime.ts';
import { NameParam } from './shared.ts';

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
// A date-time must say its zone: without one, "since" would depend on the server's clock setting.
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i;

/** How far ahead of the server's clock a since may be (clocks differ); later is refused. */
export const SINCE_AHEAD_MAX_MS = 24 * 3600 * 1000;

/**
 * "2026-11-27T10:00:00Z", "90" (seconds ago), "10m", "2h", "1d" -> the time; undefined when it is
 * none of these. A time before the epoch (say 99999999999d ago) is the epoch: the whole log.
 */
export function parseSince(value: string, now = Date.now()): Date | undefined {
  const duration = DURATION.exec(value);
  let time: number;
  if (duration) time = now - Number(duration[1]) * 1000 * UNIT_SECONDS[(duration[2] ?? 's') as keyof typeof UNIT_SECONDS];
  else if (DATE_TIME.test(value)) time = Date.parse(value);
  else return undefined;
  return Number.isNaN(time) ? undefined : new Date(Math.max(0, time));
}

const Flag = (what: string) =>
  z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional()
    .describe(what);

export const LogQuery = z
  .strictObject({
    tail: z
      .string()
      .regex(/^\d{1,9}$/, 'expected a whole number of lines, 0 or more')
      .transform(Number)
      .optional()
      .describe('Only the last N lines (then, with follow, what comes next). Default: the whole log.'),
    since: z
      .string()
      .superRefine((v, ctx) => {
        const now = Date.now();
        const since = parseSince(v, now);
        if (since === undefined)
          ctx.addIssue({
            code: 'custom',
            message: 'expected an ISO 8601 date-time with a time zone, or a number of seconds (optionally with s, m, h or d: 90, 10m, 2h)',
          });
        else if (since.getTime() > now + SINCE_AHEAD_MAX_MS)
          ctx.addIssue({ code: 'custom', message: "is more than a day ahead of the server's clock" });
      })
      .optional()
      .describe(
        'Only output written at or after this time: an ISO 8601 date-time with a time zone, or how long ago (90 = seconds; 10m, 2h, 1d).',
      ),
    follow: Flag(
      'true: keep the response open and send new output as it comes, until the process ends or the client goes away. Default false.',
    ),
    timestamps: Flag('true: start each line with its RFC 3339 time (nanoseconds) and a space. Default false.'),
  })
  .describe('Which part of the log, and whether to follow it.');

export interface LogRouteOptions {
  runtime: Runtime;
  /** Aborts when the server closes, so that follows end instead of holding the close up. */
  closing: AbortSignal;
}

export const logRoutes: FastifyPluginAsyncZod<LogRouteOptions> = async (app, { runtime, closing }) => {
  app.get(
    '/process/:process_name/logs',
    {
      schema: {
        summary: "A process's output",
        operationId: 'get_process_logs',
        description:
          'Its stdout and stderr, interleaved, as text/plain; charset=utf-8. With follow=true the answer is streamed ' +
          '(chunked) until the process ends, the client goes away or the server stops. A process that has not started ' +
          'yet has an empty log.',
        tags: ['processes'],
        params: NameParam,
        querystring: LogQuery,
        response: {
          200: { description: 'The log text.', content: { 'text/plain': { schema: z.string() } } },
          400: ErrorBody,
          404: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { tail, since, follow, timestamps } = request.query;
      // The client going away (or the server closing) ends the runtime's stream and releases its connection.
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const options: LogOptions = { signal: AbortSignal.any([gone.signal, closing]) };
      if (tail !== undefined) options.tail = tail;
      if (since !== undefined) options.since = parseSince(since)!;
      if (follow !== undefined) options.follow = follow;
      if (timestamps !== undefined) options.timestamps = timestamps;
      const chunks = await runtime.logs(request.params.process_name, options);
      return (
        reply
          .header('content-type', 'text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          // A stream is sent as it is; the typed reply only knows the schemas' bodies.
          .send(Readable.from(headersFirst(chunks)) as never)
      );
    },
  );
};

/** An empty first chunk makes the response's headers go out at once, before any output, which a follower may wait long for. */
async function* headersFirst(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  yield '';
  yield* chunks;
}
