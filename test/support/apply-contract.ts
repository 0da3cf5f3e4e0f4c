// The runtime contract's part for declarative apply and per-process lifetimes (issue 16), run by
// runtime-contract.ts against every runtime: each start records its spec's digest and its expiry
// where the runtime keeps its state, list and get show them, apply decides from them, concurrent
// applies leave one process, and a sweep stops what has expired and nothing else.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ExpirySweeper } from '../../src/culler/expiry-sweeper.ts';
import { applyProcess } from '../../src/runtimes/apply.ts';
import { SILENT_LOGGER } from '../../src/runtimes/logger.ts';
import type { Runtime } from '../../src/runtimes/runtime.ts';
import type { ProcessSpec, ProcessSpecInput } from '../../src/spec/process-spec.ts';
import { specDigest } from '../../src/spec/spec-digest.ts';

export interface ApplyContractContext {
  runtime: () => Runtime;
  /** A unique process name with this tag. */
  name: (tag: string) => string;
  /** A valid spec with the subject's image. */
  spec: (input: Omit<ProcessSpecInput, 'container'> & { container?: Partial<ProcessSpecInput['container']> }) => ProcessSpec;
}

/** Polls `check` until it returns true or `ms` pass. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function applyAndExpiryContract({ runtime, name, spec }: ApplyContractContext): void {
  const withEnv = (processName: string, value: string, extra: Partial<ProcessSpecInput> = {}) =>
    spec({ process_name: processName, ...extra, container: { env: [{ name: 'VARIANT', value }] } });

  it("records the spec's digest and the expiry, and list and get show them", async () => {
    const rt = runtime();
    const timed = name('timed');
    const plain = name('plain');
    const timedSpec = withEnv(timed, 'a', { max_age_minutes: 30 });
    const before = Date.now();
    await rt.start(timedSpec);
    await rt.start(withEnv(plain, 'a'));
    const got = await rt.get(timed);
    assert.ok(got);
    assert.equal(got.spec_digest, specDigest(timedSpec));
    assert.ok(got.expires !== undefined, 'a process with max_age_minutes has an expiry');
    assert.match(got.expires, /(Z|[+-]\d\d:\d\d)$/, 'expires has a time zone');
    const expires = Date.parse(got.expires);
    assert.ok(
      expires >= before + 30 * 60_000 && expires <= Date.now() + 30 * 60_000,
      `expires ${got.expires} is the start plus 30 minutes`,
    );
    const listed = (await rt.list()).find((p) => p.process_name === timed);
    assert.equal(listed?.expires, got.expires);
    assert.equal(listed?.spec_digest, got.spec_digest);
    const plainInfo = await rt.get(plain);
    assert.equal(plainInfo?.expires, undefined, 'no max_age_minutes, no expiry');
    assert.equal(plainInfo?.spec_digest, specDigest(withEnv(plain, 'a')));
  });

  it('applies a spec: created, then unchanged, then replaced by another', async () => {
    const rt = runtime();
    const web = name('apply');
    const first = await applyProcess(rt, withEnv(web, 'one'));
    assert.equal(first.outcome, 'created');
    assert.equal(first.info.spec_digest, specDigest(withEnv(web, 'one')));
    const again = await applyProcess(rt, withEnv(web, 'one'));
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.info.created, (await rt.get(web))?.created);
    const changed = await applyProcess(rt, withEnv(web, 'two'));
    assert.equal(changed.outcome, 'replaced');
    assert.equal((await rt.get(web))?.spec_digest, specDigest(withEnv(web, 'two')));
    assert.ok(
      await eventually(async () => (await rt.list()).filter((p) => p.process_name === web).length === 1),
      'one process of the name is listed',
    );
  });

  it('leaves exactly one process, from one of the specs, after 10 concurrent applies of 3 specs', async () => {
    const rt = runtime();
    const web = name('race');
    const specs = ['a', 'b', 'c'].map((v) => withEnv(web, v));
    const digests = specs.map(specDigest);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => applyProcess(rt, specs[i % 3]!)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.deepEqual(
      failed.map((r) => String(r.reason)),
      [],
      'every apply succeeds',
    );
    const settled = await eventually(async () => (await rt.list()).filter((p) => p.process_name === web).length === 1);
    const left = (await rt.list()).filter((p) => p.process_name === web);
    assert.ok(settled, `exactly one process is left (${left.length})`);
    assert.ok(digests.includes(left[0]!.spec_digest ?? ''), 'from one of the specs');
  });

  it('sweeps away a process past its expiry, and only that one', async () => {
    const rt = runtime();
    const brief = name('brief');
    const later = name('later');
    const forever = name('forever');
    await rt.start(withEnv(brief, 'x', { max_age_minutes: 0.005 }));
    await rt.start(withEnv(later, 'x', { max_age_minutes: 30 }));
    await rt.start(withEnv(forever, 'x'));
    const expires = Date.parse((await rt.get(brief))!.expires!);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 50));
    // Only this suite's processes: on a shared Engine, other tests' are not this sweep's business.
    const ours: Pick<Runtime, 'list' | 'get' | 'stop'> = {
      list: async (filter) => (await rt.list(filter)).filter((p) => [brief, later, forever].includes(p.process_name)),
      get: (n) => rt.get(n),
      stop: (n) => rt.stop(n),
    };
    const stopped = await new ExpirySweeper({ runtime: ours, logger: SILENT_LOGGER }).sweepOnce();
    // Another server's sweep on a shared Engine may get there first; either way it is gone.
    assert.deepEqual(
      stopped.filter((n) => n !== brief),
      [],
      'nothing but the expired process is stopped',
    );
    assert.equal(await rt.get(brief), undefined, 'the expired process is gone');
    assert.ok(await rt.get(later));
    assert.ok(await rt.get(forever));
  });
}
