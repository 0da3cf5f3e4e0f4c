// Stops processes whose own lifetime (the spec's max_age_minutes) has run out. The expiry was
// set at their start and is kept on the container or Deployment (src/runtimes/start-record.ts),
// so every server runs a sweeper, without any config, and any of them honours any process's
// expiry. It sees only what the runtime lists, and runtimes list only what carries Hydroplane's
// labels, so nothing else is ever stopped. The server-wide culler (process-culler.ts) is separate
// and unchanged: it stops everything older than the configured age.
//
// Several servers sweeping one runtime at once do no harm: each stop is of a process that is past
// its expiry when looked at just before (a get), and a stop that finds the process gone (another
// server's sweep, a user) is what was wanted. Rounds never overlap, and a round survives errors.
import { HydroplaneError } from '../errors.ts';
import type { RuntimeLogger } from '../runtimes/logger.ts';
import type { Runtime } from '../runtimes/runtime.ts';
import type { ProcessInfo } from '../spec/process-info.ts';
import { Rounds } from './rounds.ts';

/**
 * How often a server sweeps: 20 s. A lifetime is counted in minutes, so a process outlives its
 * expiry by at most a third of a minute, and a round is one list call (Docker: one Engine call;
 * Kubernetes: three list calls), cheap enough to make three times a minute on every server.
 */
export const SWEEP_INTERVAL_MS = 20_000;

export interface SweeperOptions {
  runtime: Pick<Runtime, 'list' | 'get' | 'stop'>;
  logger: Pick<RuntimeLogger, 'info' | 'warn' | 'error'>;
  /** Default SWEEP_INTERVAL_MS. */
  intervalMs?: number;
  now?: () => number;
}

/** Whether the process has an expiry and it has passed at `now`. */
export function isExpired(process: Pick<ProcessInfo, 'expires'>, now: number): boolean {
  if (process.expires === undefined) return false;
  const at = Date.parse(process.expires);
  return Number.isFinite(at) && at <= now;
}

export class ExpirySweeper {
  readonly #options: SweeperOptions;
  readonly #rounds: Rounds<string[]>;
  /** Whether the last round could not list: an outage is told once, and its end once. */
  #listFailing = false;

  constructor(options: SweeperOptions) {
    this.#options = options;
    this.#rounds = new Rounds(() => this.#round(), options.intervalMs ?? SWEEP_INTERVAL_MS);
  }

  /** Sweeps now (what expired while no server ran), then every interval. */
  start(): void {
    if (this.#rounds.start()) void this.sweepOnce();
  }

  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One round: returns the names it stopped. Rounds never overlap. */
  sweepOnce(): Promise<string[]> {
    return this.#rounds.once();
  }

  async #round(): Promise<string[]> {
    const { runtime, logger } = this.#options;
    const now = () => (this.#options.now ?? Date.now)();
    let processes: ProcessInfo[];
    try {
      processes = await runtime.list();
    } catch (error) {
      // One line, as the server's own start-up says it: the error's words, not its object.
      if (!this.#listFailing) logger.warn({}, `expiry sweep: cannot list processes: ${messageOf(error)}; will try again each round`);
      this.#listFailing = true;
      return [];
    }
    if (this.#listFailing) logger.info({}, 'expiry sweep: the runtime lists processes again');
    this.#listFailing = false;
    const stopped: string[] = [];
    await Promise.all(
      processes
        .filter((p) => isExpired(p, now()))
        .map(async (p) => {
          try {
            // Looked at again just before the stop: the name may hold a new process by now (an
            // apply replaced it), whose own expiry is what counts.
            const current = await runtime.get(p.process_name);
            if (current === undefined || !isExpired(current, now())) return;
            await runtime.stop(p.process_name);
            stopped.push(p.process_name);
            logger.info(
              { process: p.process_name, group: p.group, expires: current.expires },
              'expiry sweep: stopped a process past its expiry',
            );
          } catch (error) {
            // Another server's sweep, or a user, got there first: what was wanted.
            if (error instanceof HydroplaneError && error.code === 'process_not_found') return;
            logger.warn(
              { err: error, process: p.process_name },
              'expiry sweep: could not stop an expired process; will try again next round',
            );
          }
        }),
    );
    return stopped;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
