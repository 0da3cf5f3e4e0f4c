import { z } from 'zod';
import { HydroplaneError } from '../../errors.ts';
import { LABEL_VALUE, LABEL_VALUE_MAX, STORED_NAME, STORED_NAME_MAX } from '../../spec/names.ts';
import { escapeControls } from '../../spec/shown.ts';

// Path parameters are held to what some runtime can hold, not to the spec's stricter rules: a
// process launched by an older server keeps its name, and it must still be found and stopped.
// Nothing else reaches a runtime, where a name becomes part of an Engine or API URL.
const NAME_RULE = `letters, digits, '_', '.' and '-', starting with a letter or digit, at most ${STORED_NAME_MAX} characters`;

// `process_name`, the original's name for it, which generated clients use.
export const NameParam = z.object({
  process_name: z.string().max(STORED_NAME_MAX).regex(STORED_NAME).describe(`Name of the process: ${NAME_RULE}.`),
});

// Kubernetes label values and the spec's groups are a subset; a group written by an older server
// on Docker may be longer or end with '_', '.' or '-'. No label-selector syntax (',', '=', '!',
// spaces) gets through.
export const GroupParam = z.object({
  group: z
    .string()
    .max(STORED_NAME_MAX, `a group name is at most ${STORED_NAME_MAX} characters`)
    .regex(STORED_NAME, `a group name is ${NAME_RULE}`)
    .describe(`Name of the group: ${NAME_RULE}.`),
});

/**
 * The query of a route that takes none. Every route refuses a parameter it does not know (400,
 * naming it, with the near name when there is one), so that a typo such as ?wiat=running is an
 * error rather than a request quietly answered as if it had not been asked.
 */
export const NoQuery = z.strictObject({});

/** Whether a group can be a label value, hence exist on a Kubernetes runtime. */
export function isLabelValue(group: string): boolean {
  return group.length <= LABEL_VALUE_MAX && LABEL_VALUE.test(group);
}

/** A name shown in a message: quoted and escaped, and cut short when long. */
export function quoteName(name: string, max = 80): string {
  return escapeControls(JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name));
}

/** The answer for a process name that no runtime can hold: there is no such process. */
export function noSuchProcessName(name: unknown): HydroplaneError {
  const given = typeof name === 'string' ? quoteName(name) : 'the one given';
  return new HydroplaneError('process_not_found', `no process named ${given}: a process name is ${NAME_RULE}`);
}

export const StopResult = z
  .object({ stopped: z.array(z.string()).describe('Names of the processes that were stopped.') })
  .describe('What was stopped.')
  .meta({ id: 'StopResult' });
