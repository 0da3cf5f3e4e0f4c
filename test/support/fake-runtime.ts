// An in-memory runtime with the same semantics as the real ones (the shared runtime contract
// suite holds it to them), for route tests that need no engine.
import { HydroplaneError } from '../../src/errors.ts';
import type { EventOptions, ListFilter, LogOptions, Runtime, RuntimeEvent, RuntimeType } from '../../src/runtimes/runtime.ts';
import type { ProcessEvent } from '../../src/spec/process-event.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import type { ProcessSpec } from '../../src/spec/process-spec.ts';
import { startRecord } from '../../src/runtimes/start-record.ts';

export class FakeRuntime implements Runtime {
  /** The runtime it stands in for, as /health and the metrics name it. */
  readonly type: RuntimeType = 'docker';
  readonly processes = new Map<string, ProcessInfo>();
  readonly specs = new Map<string, ProcessSpec>();
  /** When set, every call fails with it (e.g. to play an unreachable daemon). */
  failWith: HydroplaneError | undefined;
  now: () => Date = () => new Date();
  /** Each process's log, line by line with the time it was written. */
  readonly logLines = new Map<string, Array<{ at: Date; text: string }>>();
  /** Follows that are open now, to check that every one is released. */
  openFollows = 0;
  /** The options of the last logs() call. */
  lastLogOptions: LogOptions | undefined;
  readonly #followers = new Map<string, Set<() => void>>();
  /** Every event told so far, oldest first; an id is its place in this list, from 1. */
  readonly eventHistory: RuntimeEvent[] = [];
  /** Event feeds that are open now, to check that every one is released. */
  openFeeds = 0;
  /** The options of the last events() call. */
  lastEventOptions: EventOptions | undefined;
  readonly #feeds = new Set<FakeFeed>();

  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    this.#check();
    const existing = this.processes.get(spec.process_name);
    if (existing && existing.status !== 'EXITED') {
      throw new HydroplaneError('process_exists', `a process named '${spec.process_name}' already exists`);
    }
    const info: ProcessInfo = {
      process_name: spec.process_name,
      group: spec.group ?? null,
      socket_addresses: spec.container.ports.map((p) => ({
        host: spec.has_public_ip ? '192.0.2.10' : '127.0.0.1',
        port: p.host_port ?? p.container_port,
        is_public: spec.has_public_ip,
      })),
      created: this.now().toISOString(),
      status: 'RUNNING',
      image: spec.container.image_uri,
      started: this.now().toISOString(),
    };
    // What the real runtimes keep on the container or Deployment.
    const record = startRecord(spec, this.now());
    info.spec_digest = record.specDigest;
    if (record.expiresAt !== undefined) info.expires = record.expiresAt;
    this.processes.set(spec.process_name, info);
    this.specs.set(spec.process_name, spec);
    this.#tell(info, 'created', 'STARTING');
    this.#tell(info, 'running', 'RUNNING');
    return info;
  }

  async get(name: string): Promise<ProcessInfo | undefined> {
    this.#check();
    return this.processes.get(name);
  }

  async list(filter: ListFilter = {}): Promise<ProcessInfo[]> {
    this.#check();
    return [...this.processes.values()].filter((p) => filter.group === undefined || p.group === filter.group);
  }

  async stop(name: string): Promise<void> {
    this.#check();
    const info = this.processes.get(name);
    if (!info || !this.processes.delete(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    // A process that has ended already is only removed, as a container is.
    if (info.status === 'RUNNING' || info.status === 'STARTING') this.#tell(info, 'stopped', 'EXITED', { exit_code: 143 });
    this.#tell(info, 'removed', 'REMOVED');
    this.specs.delete(name);
    this.logLines.delete(name);
    this.#wake(name);
  }

  /** Replaces a process's log; its lines are stamped `at`. */
  setLog(name: string, text: string, at: Date = this.now()): void {
    this.logLines.set(
      name,
      splitLines(text).map((t) => ({ at, text: t })),
    );
  }

  /** Adds to a process's log, for followers too. */
  appendLog(name: string, text: string): void {
    const lines = this.logLines.get(name) ?? [];
    lines.push(...splitLines(text).map((t) => ({ at: this.now(), text: t })));
    this.logLines.set(name, lines);
    this.#wake(name);
  }

  /** Ends a process as a container does that exits: its status is EXITED and follows end. */
  exit(name: string, exitCode: number): void {
    const info = this.processes.get(name);
    if (info) {
      this.processes.set(name, {
        ...info,
        status: 'EXITED',
        exit_code: exitCode,
        socket_addresses: [],
        finished: this.now().toISOString(),
      });
      this.#tell(info, 'exited', 'EXITED', { exit_code: exitCode });
    }
    this.#wake(name);
  }

  async logs(name: string, options: LogOptions = {}): Promise<AsyncIterable<string>> {
    this.#check();
    if (!this.processes.has(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    this.lastLogOptions = options;
    return this.#follow(name, options);
  }

  /** The log of logs(): what is there now, then (with follow) each append until the process ends. */
  async *#follow(name: string, options: LogOptions): AsyncGenerator<string> {
    const render = (from: number, lines: Array<{ at: Date; text: string }>) =>
      lines
        .slice(from)
        .map((l) => (options.timestamps ? `${l.at.toISOString()} ${l.text}` : l.text))
        .join('');
    const live = () => {
      const status = this.processes.get(name)?.status;
      return status === 'RUNNING' || status === 'STARTING';
    };
    let lines = this.logLines.get(name) ?? [];
    let selected = lines.filter((l) => options.since === undefined || l.at >= options.since);
    if (options.tail !== undefined) selected = options.tail === 0 ? [] : selected.slice(-options.tail);
    const first = render(0, selected);
    if (first !== '') yield first;
    if (!options.follow) return;
    let seen = lines.length;
    this.openFollows++;
    try {
      while (!options.signal?.aborted) {
        lines = this.logLines.get(name) ?? [];
        if (lines.length > seen) {
          const more = render(seen, lines);
          seen = lines.length;
          yield more;
          continue;
        }
        if (!live()) break;
        await this.#changed(name, options.signal);
      }
    } finally {
      this.openFollows--;
    }
  }

  /**
   * What start, stop and exit told, from the history after `after` (an id of this runtime's: a
   * whole number), then as it happens. Open as soon as this resolves.
   */
  async events(options: EventOptions = {}): Promise<AsyncIterable<RuntimeEvent>> {
    this.#check();
    this.lastEventOptions = options;
    const { after, filter = {}, signal } = options;
    if (after !== undefined && !/^\d{1,15}$/.test(after))
      throw new HydroplaneError('invalid_request', `the event id to resume after is not one that this runtime gives: ${after}`);
    const matches = (e: RuntimeEvent) =>
      (filter.group === undefined || e.group === filter.group) &&
      (filter.processName === undefined || e.process_name === filter.processName);
    const queue = after === undefined ? [] : this.eventHistory.slice(Number(after)).filter(matches);
    let wake = () => {};
    const feeds = this.#feeds;
    const feed: FakeFeed = {
      tell: (event) => {
        if (!matches(event)) return;
        queue.push(event);
        wake();
      },
      end: () => {
        if (!feeds.delete(feed)) return;
        this.openFeeds--;
        wake();
      },
    };
    feeds.add(feed);
    this.openFeeds++;
    signal?.addEventListener('abort', feed.end, { once: true });
    if (signal?.aborted) feed.end();
    return (async function* follow() {
      try {
        while (feeds.has(feed) || queue.length > 0) {
          if (!feeds.has(feed) && signal?.aborted) return;
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        signal?.removeEventListener('abort', feed.end);
        feed.end();
      }
    })();
  }

  /** Ends every open feed, as a runtime does that closes its change feed. */
  endFeeds(): void {
    for (const feed of this.#feeds) feed.end();
  }

  #tell(info: ProcessInfo, type: ProcessEvent['type'], status: ProcessEvent['status'], extra: Partial<ProcessEvent> = {}): void {
    const event: RuntimeEvent = {
      id: String(this.eventHistory.length + 1),
      type,
      process_name: info.process_name,
      group: info.group,
      time: this.now().toISOString(),
      status,
      ...extra,
    };
    this.eventHistory.push(event);
    for (const feed of this.#feeds) feed.tell(event);
  }

  async stopGroup(group: string): Promise<string[]> {
    const members = await this.list({ group });
    for (const p of members) await this.stop(p.process_name);
    return members.map((p) => p.process_name);
  }

  async ping(): Promise<void> {
    if (this.failWith) throw this.failWith;
  }

  async close(): Promise<void> {}

  #check(): void {
    if (this.failWith) throw this.failWith;
  }

  /** Resolves at the next append, exit or stop of the process, or when the signal aborts. */
  #changed(name: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#followers.get(name) ?? new Set<() => void>();
      this.#followers.set(name, set);
      const done = () => {
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(name: string): void {
    // Each follower removes itself as it wakes: a Set's iteration allows that.
    for (const wake of this.#followers.get(name) ?? []) wake();
  }
}

interface FakeFeed {
  tell: (event: RuntimeEvent) => void;
  end: () => void;
}

function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}
