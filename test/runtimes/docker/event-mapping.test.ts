// The Engine's container events -> process events, over generated Engine histories: several
// containers, each living one of the lives a container of ours can live (an exit, a stop on Docker
// or on Podman, an OOM kill, a start that fails), their events interleaved, with ties in time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GROUP_LABEL, PROCESS_LABEL } from '../../../src/labels.ts';
import {
  type EngineEvent,
  EngineEventFeed,
  MEMORY_LIMIT,
  cursorId,
  engineLabelFilter,
  isoNanos,
  matchesFilter,
  mapEngineEvent,
  parseCursor,
  parseEngineEventLine,
  type FeedMemory,
} from '../../../src/runtimes/docker/event-mapping.ts';
import type { RuntimeEvent } from '../../../src/runtimes/runtime.ts';
import { ProcessEvent } from '../../../src/spec/process-event.ts';

type Life = 'exit' | 'docker-stop' | 'stop-after-exit' | 'podman-stop' | 'podman-exit' | 'oom' | 'failed-start' | 'running';

interface Container {
  id: string;
  name: string;
  group: string | null;
  life: Life;
  exitCode: number;
  removed: boolean;
}

/** The Engine's actions for one life, in order, with the die's exit code where there is one. */
function actionsOf(c: Container): Array<{ action: string; attributes?: Record<string, string> }> {
  const die = { action: 'die', attributes: { exitCode: String(c.exitCode) } };
  const lives: Record<Life, Array<{ action: string; attributes?: Record<string, string> }>> = {
    exit: [{ action: 'create' }, { action: 'start' }, die],
    'docker-stop': [
      { action: 'create' },
      { action: 'start' },
      { action: 'kill', attributes: { signal: '15' } },
      { action: 'kill', attributes: { signal: '9' } },
      die,
      { action: 'stop' },
    ],
    // An Engine that sends no kill for a stop, but a stop after the die.
    'stop-after-exit': [{ action: 'create' }, { action: 'start' }, die, { action: 'stop' }],
    // Podman 4.3, as it answers GET /events: no kill, no stop; init and cleanup; remove for destroy.
    'podman-stop': [{ action: 'create' }, { action: 'init' }, { action: 'start' }, die, { action: 'cleanup' }, { action: 'cleanup' }],
    'podman-exit': [{ action: 'create' }, { action: 'init' }, { action: 'start' }, die, { action: 'cleanup' }],
    oom: [{ action: 'create' }, { action: 'start' }, { action: 'oom' }, die],
    'failed-start': [{ action: 'create' }, die],
    running: [{ action: 'create' }, { action: 'start' }],
  };
  return [...lives[c.life], ...(c.removed ? [{ action: c.life.startsWith('podman') ? 'remove' : 'destroy' }] : [])];
}

/** The process events that a life must give, as [type, status, exit_code?, reason?]. */
function expectedOf(c: Container): Array<Partial<ProcessEvent>> {
  const created = { type: 'created', status: 'STARTING' } as const;
  const running = { type: 'running', status: 'RUNNING' } as const;
  const lives: Record<Life, Array<Partial<ProcessEvent>>> = {
    exit: [created, running, { type: 'exited', status: 'EXITED', exit_code: c.exitCode }],
    'docker-stop': [created, running, { type: 'stopped', status: 'EXITED', exit_code: c.exitCode }],
    'stop-after-exit': [
      created,
      running,
      { type: 'exited', status: 'EXITED', exit_code: c.exitCode },
      { type: 'stopped', status: 'EXITED', exit_code: c.exitCode },
    ],
    'podman-stop': [created, running, { type: 'exited', status: 'EXITED', exit_code: c.exitCode }],
    'podman-exit': [created, running, { type: 'exited', status: 'EXITED', exit_code: c.exitCode }],
    oom: [created, running, { type: 'exited', status: 'EXITED', exit_code: c.exitCode, reason: 'OOMKilled' }],
    'failed-start': [created, { type: 'failed', status: 'FAILED', reason: `the container could not start (exit code ${c.exitCode})` }],
    running: [created, running],
  };
  return [...lives[c.life], ...(c.removed ? [{ type: 'removed', status: 'REMOVED' } as const] : [])];
}

const containerArb = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{64}$/),
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  group: fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), { nil: null }),
  life: fc.constantFrom<Life>('exit', 'docker-stop', 'stop-after-exit', 'podman-stop', 'podman-exit', 'oom', 'failed-start', 'running'),
  exitCode: fc.integer({ min: 0, max: 255 }),
  removed: fc.boolean(),
});

/** Containers with distinct ids and names, their events interleaved in the order `picks` says, at times with ties. */
const historyArb = fc
  .uniqueArray(containerArb, { minLength: 1, maxLength: 6, selector: (c) => c.id.slice(0, 12) })
  .filter((cs) => new Set(cs.map((c) => c.name)).size === cs.length)
  .chain((containers) => {
    const total = containers.reduce((n, c) => n + actionsOf(c).length, 0);
    return fc.record({
      containers: fc.constant(containers),
      picks: fc.array(fc.nat(), { minLength: total, maxLength: total }),
      // 0 is a tie with the event before: two events of one nanosecond.
      steps: fc.array(fc.constantFrom(0n, 0n, 1n, 1_000n, 999_999_999n), { minLength: total, maxLength: total }),
    });
  })
  .map(({ containers, picks, steps }) => {
    const queues = containers.map((c) => actionsOf(c).map((a) => ({ c, ...a })));
    const events: EngineEvent[] = [];
    let nanos = 1_796_093_259_708_272_345n;
    for (let i = 0; queues.some((q) => q.length > 0); i++) {
      const open = queues.filter((q) => q.length > 0);
      const next = open[picks[i]! % open.length]!.shift()!;
      nanos += steps[i]!;
      const labels: Record<string, string> = { [PROCESS_LABEL]: next.c.name, image: 'busybox' };
      if (next.c.group !== null) labels[GROUP_LABEL] = next.c.group;
      events.push({
        Type: 'container',
        Action: next.action,
        status: next.action,
        id: next.c.id,
        Actor: { ID: next.c.id, Attributes: { ...labels, ...next.attributes } },
        time: Number(nanos / 1_000_000_000n),
        timeNano: nanos.toString(),
      });
    }
    return { containers, events };
  });

function feedAll(feed: EngineEventFeed, events: EngineEvent[]): RuntimeEvent[] {
  return events.flatMap((e) => feed.push(e));
}

describe('Engine events -> process events', () => {
  it('tells each container life as its types, statuses, exit codes and reasons, with its name and group', () => {
    fc.assert(
      fc.property(historyArb, ({ containers, events }) => {
        const told = feedAll(new EngineEventFeed(), events);
        for (const c of containers) {
          const mine = told.filter((t) => t.process_name === c.name);
          assert.deepEqual(
            mine.map(({ type, status, exit_code, reason }) => ({
              type,
              status,
              ...(exit_code !== undefined ? { exit_code } : {}),
              ...(reason !== undefined ? { reason } : {}),
            })),
            expectedOf(c),
          );
          for (const t of mine) assert.equal(t.group, c.group);
        }
        for (const t of told) {
          ProcessEvent.parse(t);
          assert.ok(parseCursor(t.id), `id ${t.id} is a cursor`);
          assert.match(t.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        }
        assert.equal(new Set(told.map((t) => t.id)).size, told.length, 'ids are unique');
      }),
    );
  });

  it('resumes after any told event with exactly the events that came after it, none lost, none repeated', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), ({ events }, pick) => {
        const told = feedAll(new EngineEventFeed(), events);
        fc.pre(told.length > 0);
        const k = pick % told.length;
        const resumed = feedAll(new EngineEventFeed(parseCursor(told[k]!.id)), events);
        assert.deepEqual(resumed, told.slice(k + 1));
      }),
    );
  });

  it('tells only the process or group that the feed asks for, resumed or not', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), fc.nat(), fc.boolean(), ({ containers, events }, pickFilter, pick, byGroup) => {
        const c = containers[pickFilter % containers.length]!;
        const filter = byGroup ? (c.group === null ? {} : { group: c.group }) : { processName: c.name };
        const all = feedAll(new EngineEventFeed(), events);
        const wanted = all.filter((t) => matchesFilter(t, filter));
        assert.deepEqual(feedAll(new EngineEventFeed(undefined, filter), events), wanted);
        fc.pre(wanted.length > 0);
        const k = pick % wanted.length;
        assert.deepEqual(feedAll(new EngineEventFeed(parseCursor(wanted[k]!.id), filter), events), wanted.slice(k + 1));
      }),
    );
  });

  it('asks the Engine for one label at most: Podman joins several with OR and matches a bare key to nothing', () => {
    assert.deepEqual(engineLabelFilter({}), []);
    assert.deepEqual(engineLabelFilter({ group: 'g' }), [`${GROUP_LABEL}=g`]);
    assert.deepEqual(engineLabelFilter({ processName: 'p' }), [`${PROCESS_LABEL}=p`]);
    assert.deepEqual(engineLabelFilter({ processName: 'p', group: 'g' }), [`${PROCESS_LABEL}=p`]);
  });

  it('tells nothing for other types, containers without the process label, actions it does not read, or events without a time', () => {
    const base = { Type: 'container', Actor: { ID: 'a'.repeat(64), Attributes: { [PROCESS_LABEL]: 'web' } }, timeNano: '1000' };
    const memory: FeedMemory = new Map();
    for (const event of [
      { ...base, Type: 'network', Action: 'connect' },
      { ...base, Action: 'start', Actor: { ID: 'a'.repeat(64), Attributes: { name: 'web' } } },
      { ...base, Action: 'exec_start: sh' },
      { ...base, Action: 'health_status: healthy' },
      { ...base, Action: 'pause' },
      { ...base, Action: 'start', timeNano: undefined },
      { ...base, Action: 'start', Actor: { ID: 'not-hex', Attributes: { [PROCESS_LABEL]: 'web' } } },
    ] as EngineEvent[]) {
      assert.equal(mapEngineEvent(memory, event).told, undefined, JSON.stringify(event));
    }
  });

  it('takes the older `status` when an Engine sends no Action, and `time` when it sends no timeNano', () => {
    const { told } = mapEngineEvent(new Map(), {
      status: 'start',
      id: 'b'.repeat(64),
      time: 1_796_093_259,
      Actor: { Attributes: { [PROCESS_LABEL]: 'web', [GROUP_LABEL]: 'g' } },
    });
    assert.deepEqual(told, {
      id: `1796093259000000000-${'b'.repeat(12)}-start`,
      type: 'running',
      process_name: 'web',
      group: 'g',
      time: '2026-12-01T02:47:39.000000000Z',
      status: 'RUNNING',
    });
  });

  it('remembers at most MEMORY_LIMIT containers, and forgets a destroyed one at once', () => {
    let memory: FeedMemory = new Map();
    const event = (i: number, action: string): EngineEvent => ({
      Type: 'container',
      Action: action,
      Actor: { ID: i.toString(16).padStart(12, '0') + 'f'.repeat(52), Attributes: { [PROCESS_LABEL]: `p${i}` } },
      timeNano: String(1000 + i),
    });
    for (let i = 0; i < MEMORY_LIMIT + 5; i++) memory = mapEngineEvent(memory, event(i, 'create')).memory;
    assert.equal(memory.size, MEMORY_LIMIT);
    memory = mapEngineEvent(memory, event(MEMORY_LIMIT + 4, 'destroy')).memory;
    assert.equal(memory.size, MEMORY_LIMIT - 1);
  });

  it('reads timeNano from the line exactly, beyond 2^53', () => {
    const line =
      '{"status":"die","id":"139a93f0ca6a","Type":"container","Action":"die","Actor":{"ID":"139a93f0ca6aa5514ab1032a0c376f3a81cb0ec68501b8e1e10baf9e8bff192c",' +
      '"Attributes":{"exitCode":"3","timeNano":"9","hydroplane/process-id":"web"}},"scope":"local","time":1796093260,"timeNano":1796093260929075633}';
    const event = parseEngineEventLine(line)!;
    assert.equal(event.timeNano, '1796093260929075633');
    assert.equal(event.Actor?.Attributes?.['timeNano'], '9');
    assert.equal(isoNanos(BigInt(event.timeNano)), '2026-12-01T02:47:40.929075633Z');
    assert.equal(parseEngineEventLine('not json'), undefined);
    assert.equal(parseEngineEventLine('[1]'), undefined);
    assert.equal(parseEngineEventLine(''), undefined);
  });

  it('gives ids that parse back to their cursor, and refuses anything else', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }),
        fc.stringMatching(/^[0-9a-f]{12}$/),
        fc.constantFrom('create', 'start', 'die', 'stop', 'destroy'),
        (nanos, container, action) => {
          const cursor = { nanos, container, action };
          assert.deepEqual(parseCursor(cursorId(cursor)), cursor);
        },
      ),
    );
    for (const bad of [
      '',
      '12',
      '12-abc-start',
      '1-0123456789ab-',
      '1-0123456789AB-start',
      'x1-0123456789ab-start',
      '1-0123456789ab-start\n',
    ])
      assert.equal(parseCursor(bad), undefined, bad);
  });
});
