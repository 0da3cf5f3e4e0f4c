// Reading a runtime's event feed in a test: in the background, into a list, with a wait for what
// the test expects (bounded, and saying what was seen when it fails).
import type { RuntimeEvent } from '../../src/runtimes/runtime.ts';

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads a feed in the background into `events`; `until` waits for what a test expects. */
export class FeedReader {
  readonly events: RuntimeEvent[] = [];
  readonly #controller: AbortController;
  #changed: () => void = () => {};
  #ended = false;
  #error: unknown;

  constructor(feed: AsyncIterable<RuntimeEvent>, controller: AbortController) {
    this.#controller = controller;
    void (async () => {
      try {
        for await (const event of feed) {
          this.events.push(event);
          this.#changed();
        }
      } catch (err) {
        this.#error = err;
      } finally {
        this.#ended = true;
        this.#changed();
      }
    })();
  }

  /** Resolves with every event so far once `done` holds for them; fails when the feed ends first, or after 60 s. */
  until(done: (events: RuntimeEvent[]) => boolean, what: string): Promise<RuntimeEvent[]> {
    return withTimeout(
      new Promise<RuntimeEvent[]>((resolve, reject) => {
        const look = () => {
          if (done(this.events)) return resolve([...this.events]);
          if (this.#ended)
            return reject(
              new Error(
                `the feed ended (${this.#error instanceof Error ? this.#error.message : 'no error'}) before ${what}: ${this.#seen()}`,
              ),
            );
          this.#changed = look;
        };
        look();
      }),
      60_000,
      () => `${what}; seen: ${this.#seen()}`,
    );
  }

  close(): void {
    this.#controller.abort();
  }

  #seen(): string {
    return this.events.map((e) => `${e.process_name} ${e.type}`).join(', ') || 'nothing';
  }
}
