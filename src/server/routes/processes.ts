import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, HydroplaneError } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { ProcessInfo } from '../../spec/process-info.ts';
import { ProcessSpec } from '../../spec/process-spec.ts';
import { NameParam, StopResult } from './shared.ts';

/** The longest long-poll, in seconds: long enough for most starts, short enough for proxies' idle timeouts. */
export const MAX_WAIT_SECONDS = 300;

export const WaitQuery = z
  .object({
    wait: z
      .enum(['running'], { error: "expected 'running'" })
      .optional()
      .describe('running: answer once the status is RUNNING, EXITED or FAILED, or when the timeout passes (a long-poll). Without it, answer at once.'),
    timeout: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected a number of seconds')
      .transform(Number)
      .pipe(z.number().max(MAX_WAIT_SECONDS, `at most ${MAX_WAIT_SECONDS} seconds`))
      .optional()
      .describe(`With wait: the longest wait in seconds, up to ${MAX_WAIT_SECONDS}; default 30. At the timeout the answer is the process as it is then.`),
  })
  .describe('Whether to wait for the process to settle.');

/** Statuses that a wait for running ends on: it runs, or it never will. */
const SETTLED = new Set(['RUNNING', 'EXITED', 'FAILED']);

export interface ProcessRouteOptions {
  runtime: Runtime;
  /** How often a waiting request asks the runtime, in ms. */
  waitPollMs: number;
  /** Aborts when the server closes: waiting requests answer at once. */
  closing: AbortSignal;
}

export const processRoutes: FastifyPluginAsyncZod<ProcessRouteOptions> = async (app, { runtime, waitPollMs, closing }) => {
  const mustGet = async (name: string) => {
    const info = await runtime.get(name);
    if (!info) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    return info;
  };

  app.post(
    '/process',
    {
      schema: {
        summary: 'Start a process',
        description: 'Validates the spec, then starts it on the runtime. Nothing is left behind when it fails.',
        tags: ['processes'],
        body: ProcessSpec,
        response: { 201: ProcessInfo, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      // A start that nobody waits for any more (the client went away before its answer, or the
      // server is closing) is cancelled: its pull stops and what it created is removed.
      const gone = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) gone.abort();
      };
      reply.raw.once('close', onClose);
      if (request.raw.socket?.destroyed) gone.abort();
      try {
        const info = await runtime.start(request.body, { signal: AbortSignal.any([gone.signal, closing]) });
        return reply.status(201).send(info);
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.get(
    '/process',
    {
      schema: {
        summary: 'List every process',
        tags: ['processes'],
        response: { 200: z.array(ProcessInfo), 503: ErrorBody },
      },
    },
    async () => runtime.list(),
  );

  app.get(
    '/process/:name',
    {
      schema: {
        summary: 'One process',
        description:
          'With wait=running, a long-poll: the answer comes as soon as the status is RUNNING, EXITED or FAILED, ' +
          'or at the timeout with the status as it is then (still 200; look at status).',
        tags: ['processes'],
        params: NameParam,
        querystring: WaitQuery,
        response: { 200: ProcessInfo, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      let info = await mustGet(name);
      if (request.query.wait === undefined) return info;
      const deadline = Date.now() + (request.query.timeout ?? 30) * 1000;
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const stop = AbortSignal.any([gone.signal, closing]);
      while (!SETTLED.has(info.status) && !stop.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(waitPollMs, left), stop);
        info = await mustGet(name);
      }
      return info;
    },
  );

  app.delete(
    '/process/:name',
    {
      schema: {
        summary: 'Stop a process',
        description: 'Stops the process (SIGTERM, then SIGKILL after a grace period) and removes it.',
        tags: ['processes'],
        params: NameParam,
        response: { 200: StopResult, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      await runtime.stop(request.params.name);
      return { stopped: [request.params.name] };
    },
  );
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
