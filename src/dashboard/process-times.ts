// The start and end times that a list leaves out (Docker's list has no `started` or `finished`;
// see src/spec/process-info.ts), completed by GET /process/{name}: which rows to ask for, and the
// rows after the answers. The page asks only for the rows that the table renders, once per process
// and state; a time that an event gave (a `running` event's time is a start) is never asked. Pure.
import type { ProcessInfo } from '../spec/process-info.ts';

/** One process in one state: its times do not change until its status does. */
export const timesKey = (p: ProcessInfo): string => `${p.process_name}\n${p.created}\n${p.status}`;

/** Whether the row lacks times that GET /process/{name} has: a process that is starting has none yet. */
export const lacksTimes = (p: ProcessInfo): boolean => p.started === undefined && p.status !== 'STARTING';

/**
 * The rows to ask times for, in the order given (the table's): among `rendered`, those that lack
 * times and whose state has not been asked yet (`asked` holds timesKey of each).
 */
export function timesToAsk(rendered: readonly ProcessInfo[], asked: ReadonlySet<string>): ProcessInfo[] {
  return rendered.filter((p) => lacksTimes(p) && !asked.has(timesKey(p)));
}

/**
 * The rows with the times of the answers: an answer completes the row of the same process in the
 * same state (created and status) that still lacks them; other rows keep their objects (so that
 * the table re-renders only the rows completed), and the same array comes back when none is.
 */
export function withTimes(rows: readonly ProcessInfo[], answers: readonly ProcessInfo[]): readonly ProcessInfo[] {
  const byKey = new Map(answers.filter((a) => a.started !== undefined).map((a) => [timesKey(a), a]));
  if (byKey.size === 0) return rows;
  let out: ProcessInfo[] | undefined;
  rows.forEach((row, i) => {
    if (row.started !== undefined) return;
    const answer = byKey.get(timesKey(row));
    if (answer === undefined) return;
    const completed: ProcessInfo = { ...row, started: answer.started! };
    if (answer.finished !== undefined) completed.finished = answer.finished;
    out ??= [...rows];
    out[i] = completed;
  });
  return out ?? rows;
}
