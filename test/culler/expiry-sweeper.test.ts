// The expiry sweeper with a fake clock over the fake runtime: which processes it stops, that
// several sweepers at once do no harm, and that it survives a runtime that is away.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpirySweeper, SWEEP_INTERVAL_MS, isExpired } from '../../src/culler/expiry-sweeper.ts';
import { HydroplaneError } from '../../src/errors.ts';
import type { RuntimeLogger } from '../../src/runtimes/logger.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const spec = (name: string, maxAgeMinutes?: number) =>
  ProcessSpec.parse({
    process_name: name,
    container: { image_uri: 'x' },
    ...(maxAgeMinutes === undefined ? {} : { max_age_minutes: maxAgeMinutes }),
  });

function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } as Pick<RuntimeLogger, 'info' | 'warn' | 'error'> };
}

/** A fake runtime on a clock that the test moves. */
function clocked() {
  const runtime = new FakeRuntime();
  const clock = { now: T0 };
  runtime.now = () => new Date(clock.now);
  return { runtime, clock };
}

describe('expiry sweeper', () => {
  it('stops only processes whose expiry has passed, and logs each', async () => {
    const { runtime, clock } = clocked();
    await runtime.start(spec('short', 1));
    await runtime.start(spec('long', 10));
    await runtime.start(spec('forever'));
    const { lines, logger } = recordingLogger();
    const sweeper = new ExpirySweeper({ runtime, logger, now: () => clock.now });

    clock.now = T0 + 59_999;
    assert.deepEqual(await sweeper.sweepOnce(), []);
    clock.now = T0 + 60_000;
    assert.deepEqual(await sweeper.sweepOnce(), ['short']);
    assert.deepEqual([...runtime.processes.keys()].sort(), ['forever', 'long']);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.obj['process'], 'short');
    assert.equal(lines[0]?.obj['expires'], '2026-12-01T00:01:00.000Z');

    clock.now = T0 + 365 * 24 * 3_600_000;
    assert.deepEqual(await sweeper.sweepOnce(), ['long']);
    assert.deepEqual([...runtime.processes.keys()], ['forever']);
  });

  it('stops an expired process that has exited too', async () => {
    const { runtime, clock } = clocked();
    await runtime.start(spec('done', 1));
    runtime.exit('done', 0);
    clock.now = T0 + 120_000;
    const { logger } = recordingLogger();
    assert.deepEqual(await new ExpirySweeper({ runtime, logger, now: () => clock.now }).sweepOnce(), ['done']);
  });

  it('leaves a process that replaced the expired one between the list and the stop', async () => {
    const { runtime, clock } = clocked();
    await runtime.start(spec('web', 1));
    clock.now = T0 + 61_000;
    const list = runtime.list.bind(runtime);
    runtime.list = async (filter) => {
      const listed = await list(filter);
      // An apply replaces it just after the sweeper has listed it.
      await runtime.stop('web');
      await runtime.start(spec('web', 5));
      return listed;
    };
    const { logger } = recordingLogger();
    assert.deepEqual(await new ExpirySweeper({ runtime, logger, now: () => clock.now }).sweepOnce(), []);
    assert.equal(runtime.processes.get('web')?.expires, new Date(T0 + 61_000 + 5 * 60_000).toISOString());
  });

  it('does no harm when several servers sweep at once: each process is stopped once, nothing is warned of', async () => {
    const { runtime, clock } = clocked();
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const name of names) await runtime.start(spec(name, 1));
    await runtime.start(spec('keep'));
    clock.now = T0 + 120_000;
    let stops = 0;
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async (name) => {
      await new Promise((resolve) => setImmediate(resolve));
      stops++;
      return stop(name);
    };
    const { lines, logger } = recordingLogger();
    const sweepers = Array.from({ length: 3 }, () => new ExpirySweeper({ runtime, logger, now: () => clock.now }));
    const rounds = await Promise.all(sweepers.map((s) => s.sweepOnce()));
    assert.deepEqual(rounds.flat().sort(), names, 'each process is reported stopped by exactly one sweeper');
    assert.deepEqual([...runtime.processes.keys()], ['keep']);
    assert.ok(stops >= names.length);
    assert.equal(lines.filter((l) => l.level !== 'info').length, 0, 'a process another sweeper stopped first is not a problem');
  });

  it('tells once that the runtime cannot list, once that it can again, and keeps sweeping', async () => {
    const { runtime, clock } = clocked();
    await runtime.start(spec('web', 1));
    clock.now = T0 + 61_000;
    const { lines, logger } = recordingLogger();
    const sweeper = new ExpirySweeper({ runtime, logger, now: () => clock.now });
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'away');
    for (let i = 0; i < 3; i++) assert.deepEqual(await sweeper.sweepOnce(), []);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
    runtime.failWith = undefined;
    assert.deepEqual(await sweeper.sweepOnce(), ['web']);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
    assert.ok(lines.some((l) => l.level === 'info' && /again/.test(l.msg)));
  });

  it('warns of a stop that fails otherwise, and tries again next round', async () => {
    const { runtime, clock } = clocked();
    await runtime.start(spec('web', 1));
    clock.now = T0 + 61_000;
    const stop = runtime.stop.bind(runtime);
    let fail = true;
    runtime.stop = async (name) => {
      if (fail) throw new HydroplaneError('runtime_error', 'the Engine said no');
      return stop(name);
    };
    const { lines, logger } = recordingLogger();
    const sweeper = new ExpirySweeper({ runtime, logger, now: () => clock.now });
    assert.deepEqual(await sweeper.sweepOnce(), []);
    assert.equal(lines[0]?.level, 'warn');
    fail = false;
    assert.deepEqual(await sweeper.sweepOnce(), ['web']);
  });

  it('sweeps at once when started, then on its interval, never two rounds at a time', async () => {
    const { runtime } = clocked();
    let lists = 0;
    let concurrent = 0;
    let most = 0;
    runtime.list = async () => {
      lists++;
      most = Math.max(most, ++concurrent);
      await new Promise((resolve) => setTimeout(resolve, 15));
      concurrent--;
      return [];
    };
    const { logger } = recordingLogger();
    const sweeper = new ExpirySweeper({ runtime, logger, intervalMs: 5 });
    sweeper.start();
    assert.equal(lists, 1, 'the first round starts at once');
    await new Promise((resolve) => setTimeout(resolve, 80));
    await sweeper.stop();
    const seen = lists;
    assert.ok(seen >= 3, `rounds ran: ${seen}`);
    assert.equal(most, 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(lists, seen, 'no round after stop()');
    assert.equal(SWEEP_INTERVAL_MS, 20_000);
  });

  it('counts a process without an expiry, or with one to come, as not expired', () => {
    assert.equal(isExpired({}, T0), false);
    assert.equal(isExpired({ expires: new Date(T0 + 1).toISOString() }, T0), false);
    assert.equal(isExpired({ expires: new Date(T0).toISOString() }, T0), true);
    assert.equal(isExpired({ expires: 'not a time' }, T0), false);
  });
});
