import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { NoQuery } from './shared.ts';

export const Health = z.object({
  status: z.literal('ok'),
  runtime: z.string().describe('The configured runtime type.'),
});

export const healthRoutes: FastifyPluginAsyncZod<{ runtime: Runtime }> = async (app, { runtime }) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness',
        operationId: 'get_health',
        description: 'Answers as long as the server runs; it does not call the runtime.',
        tags: ['server'],
        querystring: NoQuery,
        response: { 200: Health, 400: ErrorBody },
      },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const, runtime: runtime.type }),
  );
};
