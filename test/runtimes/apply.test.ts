// The apply logic (src/runtimes/apply.ts) over the fake runtime: what it decides for generated
// pairs of specs, and how it comes through races (concurrent applies, a removal still going on, a
// rival that always wins). The fake is held to the runtime contract, so it refuses a second live
// process of a name as the real runtimes do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../src/errors.ts';
import { MAX_ATTEMPTS, applyProcess } from '../../src/runtimes/apply.ts';
import type { Runtime, StartOptions } from '../../src/runtimes/runtime.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { specDigest } from '../../src/spec/spec-digest.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { specInput } from '../support/spec-arbitraries.ts';

const noPause = { pauseMs: () => 0 };
const spec = (image: string, name = 'web') => ProcessSpec.parse({ process_name: name, container: { image_uri: image } });

/**
 * The fake with Docker's slow removal: a stop returns while the container is still being removed
 * (a few ticks later it is gone); meanwhile the process lists as EXITED, a start of the name is
 * refused with process_exists, and another stop returns at once (the Engine's "removal already in
 * progress", which the Docker runtime tolerates).
 */
class SlowRemoval implements Pick<Runtime, 'get' | 'start' | 'stop'> {
  readonly inner = new FakeRuntime();
  readonly #removing = new Set<string>();
  starts = 0;

  async get(name: string): Promise<ProcessInfo | undefined> {
    await tick();
    const info = await this.inner.get(name);
    return info && this.#removing.has(name) ? { ...info, status: 'EXITED', reason: 'removing' } : info;
  }

  async start(s: ProcessSpec, _options?: StartOptions): Promise<ProcessInfo> {
    await tick();
    this.starts++;
    if (this.#removing.has(s.process_name)) throw new HydroplaneError('process_exists', 'removal in progress');
    return this.inner.start(s);
  }

  async stop(name: string): Promise<void> {
    await tick();
    if (!this.inner.processes.has(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    if (this.#removing.has(name)) return;
    this.#removing.add(name);
    setTimeout(() => {
      this.#removing.delete(name);
      this.inner.processes.delete(name);
    }, 3);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('apply', () => {
  it('creates, leaves the same spec unchanged, replaces another: for generated pairs of specs', async () => {
    await fc.assert(
      fc.asyncProperty(specInput('web'), specInput('web'), async (a, b) => {
        const runtime = new FakeRuntime();
        const first = ProcessSpec.parse(a);
        const second = ProcessSpec.parse(b);
        assert.equal((await applyProcess(runtime, first, noPause)).outcome, 'created');
        const created = runtime.processes.get('web');
        const same = await applyProcess(runtime, first, noPause);
        assert.equal(same.outcome, 'unchanged');
        assert.equal(runtime.processes.get('web'), created, 'the same process, untouched');
        const next = await applyProcess(runtime, second, noPause);
        const differs = specDigest(first) !== specDigest(second);
        assert.equal(next.outcome, differs ? 'replaced' : 'unchanged');
        assert.equal(next.info.spec_digest, specDigest(second));
        assert.equal(runtime.specs.get('web'), differs ? second : first);
        assert.equal(runtime.processes.size, 1);
      }),
      { numRuns: 100 },
    );
  });

  it('replaces an exited process even when its spec is the same', async () => {
    const runtime = new FakeRuntime();
    await applyProcess(runtime, spec('nginx'), noPause);
    runtime.exit('web', 0);
    const applied = await applyProcess(runtime, spec('nginx'), noPause);
    assert.equal(applied.outcome, 'replaced');
    assert.equal(applied.info.status, 'RUNNING');
  });

  it('replaces a process past its own expiry (max_age_minutes) even when its spec is the same, and leaves one before it', async () => {
    const runtime = new FakeRuntime();
    const expiring = ProcessSpec.parse({ process_name: 'web', max_age_minutes: 1, container: { image_uri: 'nginx' } });
    const first = await applyProcess(runtime, expiring, noPause);
    const expires = Date.parse(first.info.expires!);
    assert.ok(Number.isFinite(expires), 'the process has an expiry');
    const before = await applyProcess(runtime, expiring, { ...noPause, now: () => expires - 1 });
    assert.equal(before.outcome, 'unchanged');
    const after = await applyProcess(runtime, expiring, { ...noPause, now: () => expires });
    assert.equal(after.outcome, 'replaced');
    assert.equal(after.info.status, 'RUNNING');
  });

  it('leaves exactly one process, from one of the specs, after concurrent applies of one name', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('nginx', 'nginx:1', 'nginx:2'), { minLength: 2, maxLength: 10 }), async (images) => {
        const runtime = new SlowRemoval();
        // Random pauses that grow, as the default's but ten times shorter: equal pauses keep rivals in
        // step, replacing each other until one gives up (409, as it should then), and none can fall
        // entirely within the 3 ms of a removal on a loaded machine.
        const pauseMs = (attempt: number) => Math.random() * Math.min(100, 5 * 2 ** attempt);
        const results = await Promise.all(images.map((image) => applyProcess(runtime, spec(image), { pauseMs })));
        assert.equal(runtime.inner.processes.size, 1);
        const left = await runtime.get('web');
        assert.ok(left);
        assert.ok(
          images.some((image) => specDigest(spec(image)) === left.spec_digest),
          'the process left was started from one of the specs',
        );
        for (const [i, result] of results.entries()) assert.equal(result.info.spec_digest, specDigest(spec(images[i]!)));
      }),
      { numRuns: 40 },
    );
  });

  it('comes through a removal still in progress: the start is refused, the next look finds the name free', async () => {
    const runtime = new SlowRemoval();
    await applyProcess(runtime, spec('nginx'), noPause);
    const applied = await applyProcess(runtime, spec('nginx:2'), { pauseMs: () => 5 });
    assert.equal(applied.outcome, 'replaced');
    assert.ok(runtime.starts >= 3, `the start was refused at least once (${runtime.starts} starts)`);
    assert.equal((await runtime.get('web'))?.spec_digest, specDigest(spec('nginx:2')));
  });

  it(`gives up with 409 after ${MAX_ATTEMPTS} looks when a rival always takes the name first`, async () => {
    let starts = 0;
    const rival: Pick<Runtime, 'get' | 'start' | 'stop'> = {
      get: async () => ({ ...(await new FakeRuntime().start(spec('rival'))), spec_digest: 'sha256:rival' }),
      start: async () => {
        starts++;
        throw new HydroplaneError('process_exists', 'taken');
      },
      stop: async () => {},
    };
    await assert.rejects(applyProcess(rival, spec('nginx'), noPause), (error: unknown) => {
      assert.ok(error instanceof HydroplaneError);
      assert.equal(error.code, 'process_exists');
      assert.equal(error.status, 409);
      assert.match(error.message, /kept changing/);
      return true;
    });
    assert.equal(starts, MAX_ATTEMPTS);
  });

  it('passes on other errors at once: a name held by something not ours, a runtime away', async () => {
    const runtime = new FakeRuntime();
    const taken = new HydroplaneError('name_taken', 'not ours');
    const holder: Pick<Runtime, 'get' | 'start' | 'stop'> = {
      get: async () => undefined,
      start: () => Promise.reject(taken),
      stop: async () => {},
    };
    await assert.rejects(applyProcess(holder, spec('nginx'), noPause), (e) => e === taken);
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'away');
    await assert.rejects(
      applyProcess(runtime, spec('nginx'), noPause),
      (e) => e instanceof HydroplaneError && e.code === 'runtime_unavailable',
    );
  });

  it('changes nothing once nobody waits for the answer', async () => {
    const runtime = new FakeRuntime();
    await applyProcess(runtime, spec('nginx'), noPause);
    const before = runtime.processes.get('web');
    await assert.rejects(applyProcess(runtime, spec('nginx:2'), { signal: AbortSignal.abort() }), (e) => e instanceof HydroplaneError);
    assert.equal(runtime.processes.get('web'), before);
  });
});
