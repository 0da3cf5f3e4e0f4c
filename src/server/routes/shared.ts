import { z } from 'zod';

// Path parameters are not held to the spec's name rules: a process launched by an older server
// may carry any name, and it must still be found and stopped.
export const NameParam = z.object({ name: z.string().min(1).max(253).describe('Name of the process.') });
export const GroupParam = z.object({ group: z.string().min(1).max(253).describe('Name of the group.') });

export const StopResult = z
  .object({ stopped: z.array(z.string()).describe('Names of the processes that were stopped.') })
  .describe('What was stopped.');
