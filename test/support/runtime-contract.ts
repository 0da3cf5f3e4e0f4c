// The behaviours that every runtime must agree on, as one suite that each runtime's test file
// runs against its own backend: what list, get, stop and stopGroup say, and when they say 404
// or 409, and what their event feeds tell. Names and groups are unique per run, so a shared engine
// or cluster is safe. The event scenarios wait for events rather than for a time, so a slow
// machine makes them slower, not wrong.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import type { EventOptions, Runtime, RuntimeEvent } from '../../src/runtimes/runtime.ts';
import { ProcessEvent } from '../../src/spec/process-event.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../src/spec/process-spec.ts';
import { applyAndExpiryContract } from './apply-contract.ts';
import { FeedReader, withTimeout } from './event-feed.ts';

export interface ContractSubject {
  runtime: Runtime;
  /** Removes whatever the suite left behind, even after failures. */
  cleanup: () => Promise<void>;
  /** An image that runs a long-lived process by default (the test image runs httpd on 8080). */
  imageUri: string;
  /** A free host port for the process that publishes one. */
  port?: number;
  /**
   * How the runtime's feed tells a stop: 'stopped', unless its backend cannot tell a stop from an
   * exit (Podman 4.3 sends the same events for both: docs/events.md).
   */
  stopToldAs?: 'stopped' | 'exited';
}

export interface ContractOptions {
  /** Skip the whole suite, saying why (for instance: no engine here). */
  skip?: string | false;
  /** Prefix of process names and groups; the subject's cleanup may rely on it. */
  prefix?: string;
}

export function runtimeContract(label: string, makeRuntime: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  describe(`runtime contract: ${label}`, { skip: options.skip ?? false }, () => {
    const prefix = options.prefix ?? `hp-test-${randomBytes(3).toString('hex')}-`;
    const groupA = `${prefix}ga`;
    const groupB = `${prefix}gb`;
    let subject: ContractSubject;
    let runtime: Runtime;
    let count = 0;
    const name = (tag: string) => `${prefix}${tag}${++count}`;
    const spec = (input: Omit<ProcessSpecInput, 'container'> & { container?: Partial<ProcessSpecInput['container']> }) =>
      ProcessSpec.parse({ ...input, container: { image_uri: subject.imageUri, ...input.container } });
    const names = (infos: ProcessInfo[]) => infos.map((p) => p.process_name).sort();
    const mine = (infos: ProcessInfo[]) => infos.filter((p) => p.process_name.startsWith(prefix));

    before(async () => {
      subject = await makeRuntime();
      runtime = subject.runtime;
    });
    after(async () => {
      await subject?.cleanup();
      await runtime?.close();
    });

    it('lists a started process with its group, and get() agrees', async () => {
      const web = name('web');
      const port = subject.port ?? 18080;
      const before = Date.now();
      const started = await runtime.start(
        spec({ process_name: web, group: groupB, container: { ports: [{ container_port: 8080, host_port: port }] } }),
      );
      assert.equal(started.process_name, web);
      assert.equal(started.group, groupB);

      const listed = mine(await runtime.list()).find((p) => p.process_name === web);
      assert.ok(listed, 'the process is listed');
      assert.equal(listed.group, groupB);
      assert.ok(['STARTING', 'RUNNING'].includes(listed.status), `status ${listed.status}`);
      // As the spec gave it, or qualified with the registry the runtime names it by (Podman: localhost/ for a local image).
      assert.ok(
        listed.image === subject.imageUri || listed.image?.endsWith(`/${subject.imageUri}`),
        `the process lists its image: ${listed.image} for ${subject.imageUri}`,
      );
      if (listed.started !== undefined) assert.ok(!Number.isNaN(Date.parse(listed.started)), `started ${listed.started}`);
      assert.equal(listed.finished, undefined, 'a running process has not finished');
      const created = Date.parse(listed.created);
      assert.match(listed.created, /(Z|[+-]\d\d:\d\d)$/, 'created has a time zone');
      assert.ok(created > before - 60_000 && created < Date.now() + 60_000, `created ${listed.created} is about now`);

      const got = await runtime.get(web);
      assert.ok(got);
      assert.equal(got.process_name, web);
      assert.equal(got.group, groupB);
      assert.equal(got.created, listed.created);
    });

    it('lists a process that has no ports, with no addresses and a null group', async () => {
      const quiet = name('quiet');
      await runtime.start(spec({ process_name: quiet }));
      const listed = (await runtime.list()).find((p) => p.process_name === quiet);
      assert.ok(listed, 'the process without ports is listed');
      assert.deepEqual(listed.socket_addresses, []);
      assert.equal(listed.group, null);
    });

    it('refuses a second live process of the same name with 409 process_exists', async () => {
      const dup = name('dup');
      await runtime.start(spec({ process_name: dup }));
      await assert.rejects(runtime.start(spec({ process_name: dup })), (err: unknown) => {
        assert.ok(err instanceof HydroplaneError);
        assert.equal(err.code, 'process_exists');
        assert.equal(err.status, 409);
        return true;
      });
    });

    it('answers ping while it can reach its backend', async () => {
      await runtime.ping();
    });

    it('answers 404 process_not_found when stopping a name that does not exist', async () => {
      await assert.rejects(runtime.stop(name('missing')), (err: unknown) => {
        assert.ok(err instanceof HydroplaneError);
        assert.equal(err.code, 'process_not_found');
        assert.equal(err.status, 404);
        return true;
      });
      assert.equal(await runtime.get(name('missing')), undefined);
    });

    it('answers 404 process_not_found for the logs of a name that does not exist', async () => {
      await assert.rejects(runtime.logs(name('nolog')), (err: unknown) => {
        assert.ok(err instanceof HydroplaneError);
        assert.equal(err.code, 'process_not_found');
        return true;
      });
    });

    it('lists and stops one group only', async () => {
      const a1 = name('a');
      const a2 = name('a');
      const b1 = name('b');
      await Promise.all([
        runtime.start(spec({ process_name: a1, group: groupA })),
        runtime.start(spec({ process_name: a2, group: groupA })),
        runtime.start(spec({ process_name: b1, group: groupB })),
      ]);
      assert.deepEqual(names(await runtime.list({ group: groupA })), [a1, a2].sort());
      assert.ok(names(await runtime.list({ group: groupB })).includes(b1));

      assert.deepEqual([...(await runtime.stopGroup(groupA))].sort(), [a1, a2].sort());
      assert.deepEqual(await runtime.list({ group: groupA }), []);
      const left = names(await runtime.list());
      assert.ok(left.includes(b1), 'the other group is untouched');
      assert.ok(!left.includes(a1) && !left.includes(a2));
    });

    it('stops an empty or unknown group without error, returning []', async () => {
      assert.deepEqual(await runtime.stopGroup(`${prefix}nobody`), []);
      assert.deepEqual(await runtime.list({ group: `${prefix}nobody` }), []);
    });

    /** A feed open for the test; every feed opened here is aborted when the test ends. */
    const openFeed = async (t: TestContext, options: Omit<EventOptions, 'signal'>): Promise<FeedReader> => {
      const controller = new AbortController();
      t.after(() => controller.abort());
      return new FeedReader(await runtime.events({ ...options, signal: controller.signal }), controller);
    };
    const typesOf = (events: RuntimeEvent[], process: string) => events.filter((e) => e.process_name === process).map((e) => e.type);

    it('tells a start as created then running, and a stop as stopped then removed', async (t) => {
      const p = name('ev');
      const feed = await openFeed(t, { filter: { processName: p } });
      await runtime.start(spec({ process_name: p, group: groupB }));
      await feed.until((events) => events.some((e) => e.type === 'running'), `${p} running`);
      await runtime.stop(p);
      const events = await feed.until((events) => events.some((e) => e.type === 'removed'), `${p} removed`);
      assertInOrder(typesOf(events, p), ['created', 'running', subject.stopToldAs ?? 'stopped', 'removed']);
      for (const e of events) {
        ProcessEvent.parse(e);
        assert.equal(e.process_name, p);
        assert.equal(e.group, groupB);
        assert.ok(!Number.isNaN(Date.parse(e.time)), `time ${e.time}`);
        assert.match(e.time, /(Z|[+-]\d\d:\d\d)$/, 'the time has a zone');
        assert.equal(e.status, STATUS_AFTER[e.type] ?? e.status, `${e.type} leaves ${e.status}`);
        assert.equal(typeof e.id, 'string');
      }
      assert.equal(events.at(-1)?.type, 'removed', 'nothing after removed');
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
    });

    it('tells only the group, or only the process, that a feed asks for', async (t) => {
      const inA = name('eva');
      const inB = name('evb');
      const byGroup = await openFeed(t, { filter: { group: groupA } });
      const byProcess = await openFeed(t, { filter: { processName: inB } });
      await Promise.all([
        runtime.start(spec({ process_name: inA, group: groupA })),
        runtime.start(spec({ process_name: inB, group: groupB })),
      ]);
      const [grouped, named] = await Promise.all([
        byGroup.until((events) => typesOf(events, inA).includes('running'), `${inA} running`),
        byProcess.until((events) => events.some((e) => e.type === 'running'), `${inB} running`),
      ]);
      await Promise.all([runtime.stop(inA), runtime.stop(inB)]);
      await Promise.all([
        byGroup.until((events) => typesOf(events, inA).includes('removed'), `${inA} removed`),
        byProcess.until((events) => events.some((e) => e.type === 'removed'), `${inB} removed`),
      ]);
      assert.ok(grouped.length > 0 && named.length > 0);
      for (const e of byGroup.events) assert.equal(e.group, groupA, `${e.process_name} ${e.type} in the group's feed`);
      for (const e of byProcess.events) assert.equal(e.process_name, inB, `${e.process_name} ${e.type} in the process's feed`);
      assert.ok(!byGroup.events.some((e) => e.process_name === inB));
    });

    it('resumes after an event id with exactly what came after it', async (t) => {
      const p = name('evr');
      const first = await openFeed(t, { filter: { processName: p } });
      await runtime.start(spec({ process_name: p }));
      await first.until((events) => events.some((e) => e.type === 'running'), `${p} running`);
      await runtime.stop(p);
      const all = await first.until((events) => events.some((e) => e.type === 'removed'), `${p} removed`);
      first.close();
      // After each event in turn: none lost, none repeated.
      for (let k = 0; k < all.length - 1; k++) {
        const resumed = await openFeed(t, { filter: { processName: p }, after: all[k]!.id });
        const got = await resumed.until((events) => events.some((e) => e.type === 'removed'), `${p} removed, after ${all[k]!.id}`);
        resumed.close();
        assert.deepEqual(
          got.map((e) => e.id),
          all.slice(k + 1).map((e) => e.id),
          `after ${all[k]!.type} ${all[k]!.id}`,
        );
        // A stop and a removal carry the time the feed saw them where the backend records none
        // (Kubernetes keeps no deletion time for a Deployment or pod deleted at once): a replay may
        // tell them later. Every other field, and every other event's time, is the same.
        const untimed = (e: RuntimeEvent) => (e.type === 'stopped' || e.type === 'removed' ? { ...e, time: '' } : e);
        assert.deepEqual(got.map(untimed), all.slice(k + 1).map(untimed));
      }
    });

    it('refuses an id that it never gives, before any event (invalid_request)', async () => {
      await assert.rejects(
        runtime.events({ after: 'not an id of anyone' }),
        (err: unknown) => err instanceof HydroplaneError && err.code === 'invalid_request',
      );
    });

    it('ends the feed when its signal aborts', async () => {
      const controller = new AbortController();
      const feed = await runtime.events({ filter: { processName: name('evq') }, signal: controller.signal });
      const reading = (async () => {
        for await (const _ of feed) {
          // Nothing comes for a name that never starts.
        }
      })();
      setTimeout(() => controller.abort(), 50);
      await withTimeout(reading, 10_000, 'the feed to end after the abort');
    });

    it('removes a stopped process from the list, and its name can be used again', async () => {
      const gone = name('gone');
      await runtime.start(spec({ process_name: gone, group: groupB }));
      await runtime.stop(gone);
      assert.ok(!names(await runtime.list()).includes(gone));
      assert.equal(await runtime.get(gone), undefined);
      await assert.rejects(runtime.stop(gone), (err: unknown) => err instanceof HydroplaneError && err.code === 'process_not_found');
      await runtime.start(spec({ process_name: gone }));
      assert.ok(names(await runtime.list()).includes(gone));
    });

    applyAndExpiryContract({ runtime: () => runtime, name, spec });
  });
}

/**
 * The status that each type of event leaves the process in. Not exited's: on Kubernetes the
 * Deployment restarts the container, so GET says STARTING or RUNNING again, as the event does.
 */
const STATUS_AFTER: Partial<Record<RuntimeEvent['type'], RuntimeEvent['status']>> = {
  created: 'STARTING',
  running: 'RUNNING',
  failed: 'FAILED',
  removed: 'REMOVED',
};

/** `expected` appears in `types` in this order (other types may come between). */
function assertInOrder(types: string[], expected: string[]): void {
  let at = 0;
  for (const type of types) if (type === expected[at]) at++;
  assert.equal(at, expected.length, `expected ${expected.join(', ')} in this order within ${types.join(', ')}`);
}
