// What GET /events streams: one change in a process's life, as a runtime's own change feed (the
// Engine's events, Kubernetes watches) reports it. The server keeps no history of its own; an
// event's id is the runtime's cursor, so that a client reconnecting to any server resumes there.
import { z } from 'zod';

export const PROCESS_EVENT_TYPES = ['created', 'running', 'exited', 'failed', 'stopped', 'removed'] as const;

export const ProcessEventType = z
  .enum(PROCESS_EVENT_TYPES)
  .describe(
    'created: the container or Deployment exists. running: it started (and is ready, on Kubernetes). ' +
      'exited: the container ended by itself (see exit_code). failed: it cannot run (see reason). ' +
      'stopped: Hydroplane or someone else stopped it. removed: it is gone.',
  )
  .meta({ id: 'ProcessEventType' });
export type ProcessEventType = z.infer<typeof ProcessEventType>;

export const ProcessEvent = z
  .object({
    type: ProcessEventType,
    process_name: z.string().describe('Name of the process.'),
    group: z.string().nullable().describe('Group of the process, or null.'),
    time: z.string().describe('When it happened, as the runtime says: ISO 8601 date-time with a time zone.'),
    status: z
      .enum(['STARTING', 'RUNNING', 'EXITED', 'FAILED', 'REMOVED'])
      .describe("The process's status after the event, as GET /process would say it then; REMOVED once it is gone."),
    exit_code: z.number().int().nullable().optional().describe('With exited and stopped, when the runtime says.'),
    reason: z.string().optional().describe('With failed (and exited, when the runtime says why).'),
  })
  .describe('One change in the life of a process.')
  .meta({ id: 'ProcessEvent' });
export type ProcessEvent = z.infer<typeof ProcessEvent>;
