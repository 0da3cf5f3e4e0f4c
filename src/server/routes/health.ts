// Probes: /health says the server runs (liveness), /ready says its runtime answers (readiness).
// Neither needs the API token, as probes carry none, so neither tells more than the runtime's type:
// why a runtime does not answer goes to the server's log, once each time that changes.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, HydroplaneError, errorBody } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { NoQuery } from './shared.ts';

export const Health = z.object({
  status: z.literal('ok'),
  runtime: z.string().describe('The configured runtime type.'),
});

export const Ready = z.object({
  status: z.literal('ready'),
  runtime: z.string().describe('The configured runtime type.'),
});

export const healthRoutes: FastifyPluginAsyncZod<{ runtime: Runtime; readyFreshMs: number }> = async (app, { runtime, readyFreshMs }) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness',
        operationId: 'get_health',
        description: 'Answers as long as the server runs; it does not call the runtime. Needs no API token.',
        tags: ['server'],
        querystring: NoQuery,
        response: { 200: Health, 400: ErrorBody },
      },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const, runtime: runtime.type }),
  );

  /** Whether the last check found the runtime answering; undefined before the first. */
  let answering: boolean | undefined;
  // One ping answers every probe of the same moment: /ready needs no token, and must not let
  // whoever reaches the port drive one runtime call per request.
  let lastPing: { at: number; result: Promise<void> } | undefined;
  const ping = (): Promise<void> => {
    const now = Date.now();
    if (lastPing === undefined || now - lastPing.at >= readyFreshMs) lastPing = { at: now, result: runtime.ping() };
    return lastPing.result;
  };
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness',
        operationId: 'get_ready',
        description:
          "200 when the runtime answers a cheap call that needs its credentials (the Docker Engine's ping; a list of one Deployment), " +
          '503 when it does not: for readiness probes and load balancers. Needs no API token; the server log says why the runtime does not answer.',
        tags: ['server'],
        querystring: NoQuery,
        response: { 200: Ready, 400: ErrorBody, 503: ErrorBody },
      },
      logLevel: 'warn',
    },
    async (request, reply) => {
      try {
        await ping();
      } catch (error) {
        if (answering !== false) {
          const why = error instanceof HydroplaneError ? error.message : String(error);
          app.log.warn({ runtime: runtime.type }, `not ready: ${why}`);
        }
        answering = false;
        const unready = new HydroplaneError('runtime_unavailable', `the ${runtime.type} runtime does not answer; the server log says why`);
        return reply.status(503).send(errorBody(unready));
      }
      if (answering === false) app.log.info({ runtime: runtime.type }, 'ready: the runtime answers again');
      answering = true;
      return { status: 'ready' as const, runtime: runtime.type };
    },
  );
};
