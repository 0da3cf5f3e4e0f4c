import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, HydroplaneError } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { ProcessInfo } from '../../spec/process-info.ts';
import { ProcessSpec } from '../../spec/process-spec.ts';
import { NameParam, StopResult } from './shared.ts';

export const processRoutes: FastifyPluginAsyncZod<{ runtime: Runtime }> = async (app, { runtime }) => {
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
      const info = await runtime.start(request.body);
      request.log.info({ process: info.process_name }, 'process started');
      return reply.status(201).send(info);
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
        tags: ['processes'],
        params: NameParam,
        response: { 200: ProcessInfo, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const info = await runtime.get(request.params.name);
      if (!info) throw new HydroplaneError('process_not_found', `no process named '${request.params.name}'`);
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
      request.log.info({ process: request.params.name }, 'process stopped');
      return { stopped: [request.params.name] };
    },
  );
};
