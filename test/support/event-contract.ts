// What every runtime's event feed must agree on, whatever its change feed (the Engine's events,
// Kubernetes watches): a start is told as created then running, a stop as stopped then removed,
// filters keep to their process or group, an id resumes after itself, an id of no runtime's is a
// 400, and aborting ends the feed. Only what holds on every runtime is asserted (a stop's status
// is EXITED on Docker and REMOVED on Kubernetes, where the Deployment is gone at once).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import type { EventOptions, Runtime, RuntimeEvent } from '../../src/runtimes/runtime.ts';
import { ProcessEvent } from '../../src/spec/process-event.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import type { ContractSubject } from './runtime-contract.ts';

export interface EventContractOptions {
  skip?: string | false;
  prefix?: string;
  /** Longest wait for one event (a real cluster pulls images). Default 10 s. */
  eventTimeoutMs?: number;
}

/** A runtime with its feed (Runtime.events arrives with the events branch; this compiles before and after). */
type FeedRuntime = Runtime & { events(options?: EventOptions): Promise<AsyncIterable<RuntimeEvent>> };

interface Follower {
  events: RuntimeEvent[];
  ended: Promise<unknown>;
  stop(): void;
  next(match: (e: RuntimeEvent) => boolean, what: string): Promise<RuntimeEvent>;
  types(name: string): string[];
}

export function eventContract(label: string, makeRuntime: () => Promise<ContractSubject>, options: EventContractOptions = {}): void {
  describe(`event contract: ${label}`, { skip: options.skip ?? false }, () => {
    const prefix = options.prefix ?? `hp-ev-${randomBytes(3).toString('hex')}-`;
    const timeoutMs = options.eventTimeoutMs ?? 10_000;
    let subject: ContractSubject;
    let runtime: FeedRuntime;
    let count = 0;
    const name = (tag: string) => `${prefix}${tag}${++count}`;
    const spec = (processName: string, group?: string) =>
      ProcessSpec.parse({ process_name: processName, ...(group ? { group } : {}), container: { image_uri: subject.imageUri } });

    async function follow(o: Omit<EventOptions, 'signal'> = {}): Promise<Follower> {
      const controller = new AbortController();
      const feed = await runtime.events({ ...o, signal: controller.signal });
      const events: RuntimeEvent[] = [];
      const ended = (async () => {
        try {
          for await (const e of feed) {
            ProcessEvent.parse(e);
            assert.equal(typeof e.id, 'string');
            events.push(e);
          }
          return null;
        } catch (err) {
          return err;
        }
      })();
      const next = async (match: (e: RuntimeEvent) => boolean, what: string) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = events.find(match);
          if (found) return found;
          if (Date.now() > deadline) throw new Error(`no ${what} event in ${timeoutMs} ms; saw ${JSON.stringify(events)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      return {
        events,
        ended,
        stop: () => controller.abort(),
        next,
        types: (n) => events.filter((e) => e.process_name === n).map((e) => e.type),
      };
    }

    before(async () => {
      subject = await makeRuntime();
      runtime = subject.runtime as FeedRuntime;
    });
    after(async () => {
      await subject?.cleanup();
      await runtime?.close();
    });

    it('tells a start as created then running, and a stop as stopped then removed', async () => {
      const p = name('life');
      const f = await follow({ filter: { processName: p } });
      await runtime.start(spec(p, `${prefix}g`));
      const running = await f.next((e) => e.type === 'running', 'running');
      assert.equal(running.group, `${prefix}g`);
      assert.equal(running.status, 'RUNNING');
      assert.deepEqual(f.types(p), ['created', 'running']);
      await runtime.stop(p);
      const removed = await f.next((e) => e.type === 'removed', 'removed');
      assert.equal(removed.status, 'REMOVED');
      assert.deepEqual(f.types(p), ['created', 'running', 'stopped', 'removed']);
      assert.equal(await runtime.get(p), undefined);
      f.stop();
      assert.equal(await f.ended, null, 'aborting ends the feed without an error');
    });

    it('keeps to its filter: one group, one process', async () => {
      const group = `${prefix}only`;
      const [a, b, other] = [name('a'), name('b'), name('o')];
      const byGroup = await follow({ filter: { group } });
      const byName = await follow({ filter: { processName: b } });
      await runtime.start(spec(a, group));
      await runtime.start(spec(b, group));
      await runtime.start(spec(other));
      await byGroup.next((e) => e.process_name === a && e.type === 'running', 'a running');
      await byGroup.next((e) => e.process_name === b && e.type === 'running', 'b running');
      await byName.next((e) => e.type === 'running', 'b running');
      await Promise.all([a, b, other].map((n) => runtime.stop(n)));
      await byGroup.next((e) => e.process_name === b && e.type === 'removed', 'b removed');
      assert.ok(
        byGroup.events.every((e) => e.group === group && (e.process_name === a || e.process_name === b)),
        JSON.stringify(byGroup.events),
      );
      assert.ok(
        byName.events.every((e) => e.process_name === b),
        JSON.stringify(byName.events),
      );
      byGroup.stop();
      byName.stop();
    });

    it('resumes after an id with what came after it', async () => {
      const p = name('resume');
      const first = await follow({ filter: { processName: p } });
      await runtime.start(spec(p));
      const created = await first.next((e) => e.type === 'created', 'created');
      await first.next((e) => e.type === 'running', 'running');
      first.stop();
      await first.ended;
      await runtime.stop(p);
      const resumed = await follow({ filter: { processName: p }, after: created.id });
      await resumed.next((e) => e.type === 'removed', 'removed');
      assert.deepEqual(resumed.types(p), ['running', 'stopped', 'removed']);
      resumed.stop();
    });

    it('refuses an id that no runtime gives, before any event (invalid_request)', async () => {
      await assert.rejects(
        runtime.events({ after: 'not an id of anyone' }),
        (err: unknown) => err instanceof HydroplaneError && err.code === 'invalid_request',
      );
    });
  });
}
