import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rounds } from '../../src/culler/rounds.ts';
import { ProcessCuller } from '../../src/culler/process-culler.ts';
import { HydroplaneError } from '../../src/errors.ts';
import { GROUP_CONCURRENCY } from '../../src/runtimes/bounded.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const spec = (name: string) => ({ process_name: name, has_public_ip: false, container: { image_uri: 'x', ports: [], env: [] } });

function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } as never };
}

describe('process culler', () => {
  it('stops only processes older than the maximum age, logging each with its age', async () => {
    const runtime = new FakeRuntime();
    let now = Date.parse('2026-01-01T00:00:00Z');
    runtime.now = () => new Date(now);
    await runtime.start(spec('old'));
    now += 9 * 60_000;
    await runtime.start(spec('young'));
    now += 2 * 60_000; // old: 11 minutes, young: 2 minutes
    const { lines, logger } = recordingLogger();
    const culler = new ProcessCuller({ runtime, logger, maxAgeMs: 10 * 60_000, intervalMs: 60_000, now: () => now });
    assert.deepEqual(await culler.cullOnce(), ['old']);
    assert.deepEqual([...runtime.processes.keys()], ['young']);
    assert.equal(lines[0]?.obj['process'], 'old');
    assert.equal(lines[0]?.obj['age_minutes'], 11);
    assert.deepEqual(await culler.cullOnce(), []);
  });

  it('stops a round of many old processes at most GROUP_CONCURRENCY at a time, every one of them', async () => {
    const runtime = new FakeRuntime();
    runtime.now = () => new Date(0);
    const count = 2 * GROUP_CONCURRENCY + 3;
    for (let i = 0; i < count; i++) await runtime.start(spec(`p${i}`));
    const stop = runtime.stop.bind(runtime);
    let inFlight = 0;
    let most = 0;
    runtime.stop = async (name: string) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return stop(name);
    };
    const { logger } = recordingLogger();
    const culler = new ProcessCuller({ runtime, logger, maxAgeMs: 60_000, intervalMs: 60_000, now: () => 3_600_000 });
    assert.equal((await culler.cullOnce()).length, count);
    assert.equal(runtime.processes.size, 0);
    assert.equal(most, GROUP_CONCURRENCY);
  });

  it('keeps going when the runtime is away and when a process is already gone', async () => {
    const runtime = new FakeRuntime();
    runtime.now = () => new Date(0);
    await runtime.start(spec('a'));
    await runtime.start(spec('b'));
    const { lines, logger } = recordingLogger();
    const culler = new ProcessCuller({ runtime, logger, maxAgeMs: 1000, intervalMs: 1000, now: () => 60_000 });
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'away');
    assert.deepEqual(await culler.cullOnce(), []);
    assert.equal(lines.at(-1)?.level, 'warn');
    runtime.failWith = undefined;
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async (name) => {
      if (name === 'a') {
        await stop(name); // somebody else stopped it first
        throw new HydroplaneError('process_not_found', 'gone');
      }
      return stop(name);
    };
    assert.deepEqual(await culler.cullOnce(), ['b']);
    assert.equal(runtime.processes.size, 0);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
  });

  it('runs rounds on its interval and never two at once', async () => {
    const runtime = new FakeRuntime();
    let lists = 0;
    const list = runtime.list.bind(runtime);
    runtime.list = async (f) => {
      lists++;
      await new Promise((r) => setTimeout(r, 30));
      return list(f);
    };
    const { logger } = recordingLogger();
    const culler = new ProcessCuller({ runtime, logger, maxAgeMs: 1000, intervalMs: 10 });
    const [a, b] = [culler.cullOnce(), culler.cullOnce()];
    assert.equal(a, b);
    await a;
    assert.equal(lists, 1);
    culler.start();
    await new Promise((r) => setTimeout(r, 120));
    await culler.stop();
    const seen = lists;
    assert.ok(seen >= 2, `expected rounds on the interval, saw ${seen}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lists, seen, 'no round after stop()');
  });

  // Node runs a timer of more than 2^31 - 1 ms after 1 ms: a culler told to look every 30 days
  // (43,200 minutes) would have listed the runtime every millisecond.
  it('runs no round early when its interval is longer than a timer can hold', async () => {
    let rounds = 0;
    const timer = new Rounds(async () => void rounds++, 30 * 24 * 60 * 60_000);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    timer.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await timer.stop();
    process.off('warning', onWarning);
    assert.equal(rounds, 0);
    assert.deepEqual(warnings, []);
  });
});
