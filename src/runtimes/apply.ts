// Declarative apply (PUT /process/{name}): bring one process to a spec. Absent: start it. Running
// or starting from the same spec (the digest its start recorded, src/runtimes/start-record.ts):
// leave it. Started from another spec, from an unknown one (an older server's), ended, or past its
// own expiry: stop it and start the spec.
//
// It is runtime-neutral, built on Runtime.get, start and stop, rather than a method of each
// runtime: the decision is the same on every runtime, and the races it must survive are settled
// by what each runtime already guarantees (one live process per name: a start that loses says
// process_exists; a stop of what is gone says process_not_found). So it holds no lock and no
// state, and several servers may apply at once. Each race ends in a fresh look:
// - two creates: one start wins, the other gets process_exists and looks again;
// - replace racing replace: both stop (one of them gets process_not_found, which is fine), both
//   start, one wins; the loser looks again and replaces the winner's process if it still differs;
// - a start racing a stop whose removal is still going on (Docker's "removal in progress"): the
//   start says process_exists, and the next look finds the name free or the process ended.
// Every pass does at least one of these things, and a pass that loses waits a short random time
// (growing, capped) so that rivals fall out of step. After MAX_ATTEMPTS the apply gives up with
// process_exists (409): the name kept changing under it. Whatever happens, the runtime never
// holds two processes of one name, and the one it holds was started from one whole spec.
import { HydroplaneError } from '../errors.ts';
import type { ApplyOutcome, ProcessInfo } from '../spec/process-info.ts';
import type { ProcessSpec } from '../spec/process-spec.ts';
import { specDigest } from '../spec/spec-digest.ts';
import type { Runtime, StartOptions } from './runtime.ts';

/** How many looks an apply takes before it gives up. */
export const MAX_ATTEMPTS = 12;
/** The longest pause between two looks, in ms. */
const MAX_PAUSE_MS = 1000;

export interface Applied {
  info: ProcessInfo;
  outcome: ApplyOutcome;
}

export interface ApplyOptions extends StartOptions {
  /** The pause before look number `attempt` (1, 2, ...), in ms. Default: random, up to 50·2^attempt, at most 1 s. */
  pauseMs?: (attempt: number) => number;
  /** The clock that expiries are read by; default Date.now. */
  now?: () => number;
}

/** Statuses that a process does not leave by itself: applying any spec replaces it. */
const ENDED = new Set<ProcessInfo['status']>(['EXITED', 'FAILED']);

/**
 * Whether the process is over: ended, or past its own expiry (max_age_minutes), which a sweep is
 * about to act on. Left alone, an expired one would be `unchanged` and then gone within a sweep.
 */
function over(info: ProcessInfo, now: number): boolean {
  if (ENDED.has(info.status)) return true;
  const expires = info.expires === undefined ? NaN : Date.parse(info.expires);
  return Number.isFinite(expires) && expires <= now;
}

/**
 * Brings the process named by `spec` to `spec`. The outcome says what the name held when the apply
 * first looked: nothing (created), the process as wanted (unchanged), or something else (replaced).
 */
export async function applyProcess(
  runtime: Pick<Runtime, 'get' | 'start' | 'stop'>,
  spec: ProcessSpec,
  options: ApplyOptions = {},
): Promise<Applied> {
  const name = spec.process_name;
  const digest = specDigest(spec);
  const { signal } = options;
  const pauseMs = options.pauseMs ?? defaultPause;
  let outcome: ApplyOutcome | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await pause(pauseMs(attempt), signal);
    // Nobody waits for the answer any more: change nothing.
    if (signal?.aborted) throw cancelled(name);
    const current = await runtime.get(name);
    if (current !== undefined && current.spec_digest === digest && !over(current, (options.now ?? Date.now)())) {
      return { info: current, outcome: outcome ?? 'unchanged' };
    }
    outcome ??= current === undefined ? 'created' : 'replaced';
    if (current !== undefined) {
      try {
        await runtime.stop(name);
      } catch (error) {
        // Another apply, a stop or a sweep removed it first: the name is free all the same.
        if (!isCode(error, 'process_not_found')) throw error;
      }
    }
    try {
      return { info: await runtime.start(spec, signal === undefined ? {} : { signal }), outcome };
    } catch (error) {
      // Another start took the name first, or the old process is still being removed: look again.
      if (!isCode(error, 'process_exists')) throw error;
    }
  }
  throw new HydroplaneError(
    'process_exists',
    `process '${name}' kept changing while it was being applied (other applies or starts of the same name, ${MAX_ATTEMPTS} times); try again`,
  );
}

function isCode(error: unknown, code: HydroplaneError['code']): boolean {
  return error instanceof HydroplaneError && error.code === code;
}

function defaultPause(attempt: number): number {
  return Math.random() * Math.min(MAX_PAUSE_MS, 50 * 2 ** attempt);
}

function cancelled(name: string): HydroplaneError {
  // As a runtime says of a start that was cancelled.
  return new HydroplaneError(
    'runtime_unavailable',
    `applying process '${name}' was cancelled before it finished: its client went away or the server is shutting down`,
  );
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
