// What the culler and the expiry sweeper share: a round of work run on a timer and on demand, where
// rounds never overlap (a round asked for while one runs gets that one) and stopping waits for the
// round in progress. The timer does not keep the process alive.
/** The longest delay a Node timer keeps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class Rounds<T> {
  readonly #round: () => Promise<T>;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<T> | undefined;

  constructor(round: () => Promise<T>, intervalMs: number) {
    this.#round = round;
    // A timer takes at most 2^31 - 1 ms (24.8 days): Node runs a longer one after 1 ms, every 1 ms.
    this.#intervalMs = Math.min(intervalMs, MAX_TIMER_MS);
  }

  /** Runs a round every interval from now on; false when already started. */
  start(): boolean {
    if (this.#timer !== undefined) return false;
    this.#timer = setInterval(() => void this.once(), this.#intervalMs);
    this.#timer.unref();
    return true;
  }

  /** Stops the timer and waits for the round in progress, if any. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One round, or the one already running. */
  once(): Promise<T> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }
}
