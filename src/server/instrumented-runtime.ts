// A Runtime that times every call into a histogram, by runtime, operation and outcome, and
// otherwise does exactly what the runtime it wraps does. Wrapping once at the app level keeps
// metrics out of every backend.
import type { Gauge, Histogram } from 'prom-client';
import { HydroplaneError } from '../errors.ts';
import type { EventOptions, ListFilter, LogOptions, Runtime, RuntimeEvent, RuntimeType, StartOptions } from '../runtimes/runtime.ts';
import type { ProcessInfo } from '../spec/process-info.ts';
import type { ProcessSpec } from '../spec/process-spec.ts';

export type RuntimeCallLabels = 'runtime' | 'operation' | 'outcome';

/** 'ok', else the error's catalogue code (a bounded set), else 'internal'. */
export function outcomeOf(err: unknown): string {
  return err instanceof HydroplaneError ? err.code : 'internal';
}

export class InstrumentedRuntime implements Runtime {
  readonly #inner: Runtime;
  readonly #calls: Histogram<RuntimeCallLabels>;
  readonly #openFeeds: Gauge<'runtime'> | undefined;

  constructor(inner: Runtime, calls: Histogram<RuntimeCallLabels>, openFeeds?: Gauge<'runtime'>) {
    this.#inner = inner;
    this.#calls = calls;
    this.#openFeeds = openFeeds;
  }

  get type(): RuntimeType {
    return this.#inner.type;
  }

  start(spec: ProcessSpec, options?: StartOptions): Promise<ProcessInfo> {
    return this.#time('start', () => this.#inner.start(spec, options));
  }

  get(name: string): Promise<ProcessInfo | undefined> {
    return this.#time('get', () => this.#inner.get(name));
  }

  list(filter?: ListFilter): Promise<ProcessInfo[]> {
    return this.#time('list', () => this.#inner.list(filter));
  }

  stop(name: string): Promise<void> {
    return this.#time('stop', () => this.#inner.stop(name));
  }

  stopGroup(group: string): Promise<string[]> {
    return this.#time('stop_group', () => this.#inner.stopGroup(group));
  }

  ping(): Promise<void> {
    return this.#time('ping', () => this.#inner.ping());
  }

  /** Times the opening of the log, not how long it is read or followed. */
  logs(name: string, options?: LogOptions): Promise<AsyncIterable<string>> {
    return this.#time('logs', () => this.#inner.logs(name, options));
  }

  /**
   * Times the opening of the feed, as logs does: a feed lasts as long as its follower, which would
   * say nothing about the runtime's latency. The gauge counts the feeds open now, until each ends.
   */
  async events(options?: EventOptions): Promise<AsyncIterable<RuntimeEvent>> {
    const feed = await this.#time('events', () => this.#inner.events(options));
    const gauge = this.#openFeeds;
    if (gauge === undefined) return feed;
    const labels = { runtime: this.#inner.type };
    return (async function* counted() {
      // Counted once read: a generator that is never started never reaches a finally.
      gauge.inc(labels);
      try {
        yield* feed;
      } finally {
        gauge.dec(labels);
      }
    })();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #time<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const end = this.#calls.startTimer({ runtime: this.#inner.type, operation });
    try {
      const result = await call();
      end({ outcome: 'ok' });
      return result;
    } catch (err) {
      end({ outcome: outcomeOf(err) });
      throw err;
    }
  }
}
