// The process culler on a real Engine: it stops Hydroplane's processes once they are older than
// the maximum age, and nothing else; two culling servers on one Engine do each other no harm.
// A culler stops every Hydroplane process of its Engine, so these tests run on a second dockerd
// of their own: on the shared one they would cull everybody's processes.
// That dockerd is of the version the other tests run (20.10 on the host; under
// scripts/engine-docker26.sh, Engine 26's own, in its container): see SecondEngine. On Podman the
// file skips, saying so: there is no second Podman of the test's own to cull on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import { PROCESS_LABEL } from '../../src/labels.ts';
import type { RunningServer } from '../../src/server/start-server.ts';
import { TEST_IMAGE, eventually, randomId } from '../support/docker.ts';
import { type LogLine, SecondEngine, WARN, call, captureLogger, secondEngineSkip, startInProcess, tally } from './support.ts';

const skip = await secondEngineSkip();
const engine = new SecondEngine();
const prefix = `hp-fault-${randomId()}-`;
let count = 0;
const name = (tag: string) => `${prefix}${tag}${++count}`;

const MAX_AGE_MINUTES = 0.05; // 3 s
const configYaml = `runtime:
  runtime_type: docker
  docker_host: ${engine.host}
  network: ${prefix}net
  stop_grace_seconds: 1
process_culling:
  max_age_minutes: ${MAX_AGE_MINUTES}
  culling_interval_minutes: 0.02
`;
/** Ignores SIGTERM as PID 1, so that each stop lasts the grace period and cullers overlap. */
const sleeper = (process_name: string, group?: string) => ({
  process_name,
  ...(group === undefined ? {} : { group }),
  container: { image_uri: TEST_IMAGE, command: ['sleep', '300'] },
});

const culled = (lines: LogLine[]) => lines.filter((l) => l.msg === 'culler: stopped an old process');
const above = (lines: LogLine[], level: number) => lines.filter((l) => l.level > level);

async function startDirectly(containerName: string, labels: Record<string, string>): Promise<Dockerode.Container> {
  const container = await engine.docker.createContainer({ name: containerName, Image: TEST_IMAGE, Cmd: ['sleep', '300'], Labels: labels });
  await container.start();
  return container;
}

/** Waits until the Engine has no container with Hydroplane's label. */
function noneLeft(what: string): Promise<true> {
  return eventually(
    async () => {
      const left = await engine.docker.listContainers({ all: true, filters: { label: [PROCESS_LABEL] } });
      return left.length === 0 ? true : undefined;
    },
    what,
    30_000,
  );
}

describe('process culler on a real Engine', { skip }, () => {
  before(async () => {
    await engine.start();
    await engine.loadTestImage();
  });

  it('culls Hydroplane processes older than max_age_minutes, logs each with its age, and leaves other containers alone', async (t) => {
    t.diagnostic(`the second daemon: ${engine.version}`);
    const { logger, lines } = captureLogger();
    // Older than every Hydroplane process here, and never culled.
    const foreign = await startDirectly(name('foreign'), { 'com.example/owner': 'someone-else' });
    const server: RunningServer = await startInProcess(configYaml, logger);
    after(() => server.close());
    const started = lines.find((l) => l.msg === 'process culler started');
    assert.deepEqual(
      [started?.['max_age_minutes'], started?.['culling_interval_minutes']],
      [0.05, 0.02],
      'fractions of a minute are accepted',
    );

    const first = [name('a'), name('b')];
    for (const [i, n] of first.entries())
      assert.equal((await call(server.url, 'POST', '/process', sleeper(n, i === 0 ? 'g' : undefined))).status, 201);
    // One that an older server (or the original Hydroplane) launched: the labels make it ours.
    const legacy = name('legacy');
    await startDirectly(legacy, { [PROCESS_LABEL]: legacy });
    await noneLeft('the first processes to be culled');

    // Rounds go on: one more process, culled in its turn, while the foreign container keeps running.
    const second = name('c');
    assert.equal((await call(server.url, 'POST', '/process', sleeper(second))).status, 201);
    await noneLeft('the later process to be culled');

    const state = (await foreign.inspect()).State;
    assert.equal(state.Running, true, 'the container without Hydroplane labels survives');
    assert.ok(Date.now() - Date.parse(state.StartedAt) > MAX_AGE_MINUTES * 60_000, 'and it was old enough to be culled, had it been ours');

    const entries = culled(lines);
    const named = entries.map((l) => l['process']);
    assert.ok(
      named.every((name) => typeof name === 'string'),
      JSON.stringify(named),
    );
    assert.deepEqual(named.sort(), [...first, legacy, second].sort(), 'each process is named once in the log');
    for (const entry of entries) {
      const age = entry['age_minutes'];
      assert.equal(typeof age, 'number', JSON.stringify(entry));
      assert.ok(
        (age as number) >= MAX_AGE_MINUTES,
        `culled at ${String(age)} minutes, not before ${MAX_AGE_MINUTES}: ${JSON.stringify(entry)}`,
      );
    }
    assert.equal(entries.find((l) => l['process'] === first[0])?.['group'], 'g');
    assert.deepEqual((await call(server.url, 'GET', '/process')).body, []);
    assert.deepEqual(above(lines, WARN), [], 'nothing above warn');
  });

  it('two culling servers on one Engine: both run, each process is stopped once, nothing above warn is logged', async (t) => {
    const a = captureLogger();
    const b = captureLogger();
    const servers = await Promise.all([startInProcess(configYaml, a.logger), startInProcess(configYaml, b.logger)]);
    after(() => Promise.all(servers.map((s) => s.close())));
    for (const lines of [a.lines, b.lines]) assert.ok(lines.some((l) => l.msg === 'process culler started'));

    const events: Array<{ Action: string; Actor: { Attributes: Record<string, string> } }> = [];
    const stream = (await engine.docker.getEvents({
      filters: { type: ['container'], label: [PROCESS_LABEL] },
    })) as NodeJS.ReadableStream & {
      destroy(): void;
    };
    after(() => stream.destroy());
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (buffered + chunk.toString()).split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) if (part.trim()) events.push(JSON.parse(part));
    });

    const names = Array.from({ length: 6 }, () => name('two'));
    const answers = await Promise.all(names.map((n, i) => call(servers[i % 2]!.url, 'POST', '/process', sleeper(n))));
    assert.deepEqual(tally(answers.map((x) => x.status)), { 201: 6 });
    await noneLeft('both cullers to cull every process');
    // The Engine reports a container's end and removal once each.
    await eventually(
      async () => (events.filter((e) => e.Action === 'destroy').length >= names.length ? true : undefined),
      'the destroy events',
    );

    const perContainer = (action: string) => tally(events.filter((e) => e.Action === action).map((e) => e.Actor.Attributes['name'] ?? '?'));
    const once = Object.fromEntries(names.map((n) => [n, 1]));
    assert.deepEqual(perContainer('start'), once, 'started once each');
    assert.deepEqual(perContainer('die'), once, 'ended once each');
    assert.deepEqual(perContainer('destroy'), once, 'removed once each');

    const byA = culled(a.lines).map((l) => l['process'] as string);
    const byB = culled(b.lines).map((l) => l['process'] as string);
    assert.deepEqual([...new Set([...byA, ...byB])].sort(), [...names].sort(), 'every process is culled, by one server or the other');
    const both = byA.filter((n) => byB.includes(n));
    // Both cullers may stop the same process in the same round, and both then log it: the runtime's
    // stop cannot tell who ended it (concurrent stops succeed alike). The Engine saw one stop.
    t.diagnostic(`culled by server A: ${byA.length}, by server B: ${byB.length}, reported by both: ${both.length}`);
    assert.deepEqual([...above(a.lines, WARN), ...above(b.lines, WARN)], [], 'nothing above warn on either server');
    for (const s of servers) assert.equal((await call(s.url, 'GET', '/process')).status, 200, 'both still serve');
  });
});
