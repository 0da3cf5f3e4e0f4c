import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { ProcessInfo } from '../../spec/process-info.ts';
import { GroupParam, NoQuery, StopResult, isLabelValue } from './shared.ts';

export const groupRoutes: FastifyPluginAsyncZod<{ runtime: Runtime }> = async (app, { runtime }) => {
  // Only Docker labels hold the looser groups of older servers; on Kubernetes such a group cannot
  // exist, and as a label selector it would be refused.
  const mayExist = (group: string) => runtime.type === 'docker' || isLabelValue(group);

  app.get(
    '/group/:group',
    {
      schema: {
        summary: "List a group's processes",
        operationId: 'list_processes_in_group_group__group__get',
        description: 'An unknown group has no processes: the answer is [].',
        tags: ['groups'],
        params: GroupParam,
        querystring: NoQuery,
        response: { 200: z.array(ProcessInfo), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => (mayExist(request.params.group) ? runtime.list({ group: request.params.group }) : []),
  );

  app.delete(
    '/group/:group',
    {
      schema: {
        summary: 'Stop every process of a group',
        operationId: 'terminate_group_group__group__delete',
        description: 'Stops the members in parallel. An empty or unknown group is not an error.',
        tags: ['groups'],
        params: GroupParam,
        querystring: NoQuery,
        response: { 200: StopResult, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      if (!mayExist(request.params.group)) return { stopped: [] };
      const stopped = await runtime.stopGroup(request.params.group);
      return { stopped };
    },
  );
};
