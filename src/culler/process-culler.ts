// Stops processes older than a maximum age. It only sees what the runtime lists, and runtimes list
// only what carries Hydroplane's labels, so nothing else is ever culled. Each round survives
// errors (a process already gone, a runtime briefly away): the culler keeps running.
import type { RuntimeLogger } from '../runtimes/logger.ts';
import { HydroplaneError } from '../errors.ts';
import { GROUP_CONCURRENCY, settleBounded } from '../runtimes/bounded.ts';
import type { Runtime } from '../runtimes/runtime.ts';
import { Rounds } from './rounds.ts';

export interface CullerOptions {
  runtime: Runtime;
  maxAgeMs: number;
  intervalMs: number;
  logger: Pick<RuntimeLogger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

export class ProcessCuller {
  readonly #options: CullerOptions;
  readonly #rounds: Rounds<string[]>;

  constructor(options: CullerOptions) {
    this.#options = options;
    this.#rounds = new Rounds(() => this.#round(), options.intervalMs);
  }

  start(): void {
    this.#rounds.start();
  }

  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One round: returns the names it stopped. Rounds never overlap. */
  cullOnce(): Promise<string[]> {
    return this.#rounds.once();
  }

  async #round(): Promise<string[]> {
    const { runtime, maxAgeMs, logger } = this.#options;
    const now = (this.#options.now ?? Date.now)();
    let processes;
    try {
      processes = await runtime.list();
    } catch (error) {
      logger.warn({ err: error }, 'culler: cannot list processes; will try again next round');
      return [];
    }
    const old = processes.filter((p) => now - Date.parse(p.created) > maxAgeMs);
    const stopped: string[] = [];
    // Bounded, as a group stop: a round that finds a thousand old processes sends their stops a few
    // at a time, not all at once.
    await settleBounded(old, GROUP_CONCURRENCY, async (p) => {
      const ageMinutes = (now - Date.parse(p.created)) / 60_000;
      try {
        await runtime.stop(p.process_name);
        stopped.push(p.process_name);
        logger.info(
          { process: p.process_name, group: p.group, age_minutes: Number(ageMinutes.toFixed(2)) },
          'culler: stopped an old process',
        );
      } catch (error) {
        // Another server's culler, or a user, got there first.
        if (error instanceof HydroplaneError && error.code === 'process_not_found') return;
        logger.warn({ err: error, process: p.process_name }, 'culler: could not stop an old process; will try again next round');
      }
    });
    return stopped;
  }
}
