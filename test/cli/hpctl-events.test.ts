// hpctl events against a real server on the fake runtime: lines and JSON, filters, Ctrl-C, and
// reconnecting after the stream ends or the connection drops, resuming after the last event printed.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { eventLine, main } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

const spec = (name: string, group?: string) =>
  ProcessSpec.parse({ process_name: name, ...(group ? { group } : {}), container: { image_uri: 'nginx' } });

async function serve(t: TestContext) {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, dashboard: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { runtime, app, server: `127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** hpctl events running in the background; interrupt() plays Ctrl-C; with hold, each wait lasts until proceed(). */
function follow(argv: string[], options: { hold?: boolean } = {}) {
  const out = { stdout: '', stderr: '', sleeps: [] as number[] };
  let interrupt = () => {};
  const held: Array<() => void> = [];
  const code = main(argv, {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    env: {},
    onInterrupt: (handler) => {
      interrupt = handler;
      return () => {
        interrupt = () => {};
      };
    },
    sleep: async (ms) => {
      out.sleeps.push(ms);
      if (options.hold) await new Promise<void>((resolve) => held.push(resolve));
    },
  });
  return { out, code, interrupt: () => interrupt(), proceed: () => held.shift()?.() };
}

async function waitUntil(check: () => boolean, what: string, show: () => string = () => ''): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}: ${show()}`);
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('hpctl events', () => {
  it('prints a line an event, for one group and one process, and exits 0 on Ctrl-C', async (t) => {
    const { runtime, server } = await serve(t);
    const run = follow(['-s', server, 'events', '-g', 'g1', 'web']);
    await waitUntil(() => runtime.openFeeds === 1, 'the feed to open');
    assert.deepEqual(runtime.lastEventOptions?.filter, { group: 'g1', processName: 'web' });
    await runtime.start(spec('other', 'g1'));
    await runtime.start(spec('web', 'g1'));
    runtime.exit('web', 3);
    await runtime.stop('web');
    await waitUntil(
      () => lines(run.out.stdout).length === 4,
      'four lines',
      () => run.out.stdout,
    );
    const printed = lines(run.out.stdout);
    assert.deepEqual(
      printed.map((l) => l.split(/ {2,}/).slice(1)),
      [
        ['created', 'web', 'g1', 'STARTING'],
        ['running', 'web', 'g1', 'RUNNING'],
        ['exited', 'web', 'g1', 'EXITED', 'exit_code=3'],
        ['removed', 'web', 'g1', 'REMOVED'],
      ],
    );
    for (const l of printed) assert.ok(!Number.isNaN(Date.parse(l.split(' ')[0]!)), l);
    run.interrupt();
    assert.equal(await run.code, 0);
    assert.equal(run.out.stderr, '');
    await waitUntil(() => runtime.openFeeds === 0, 'the feed released');
  });

  it('prints one JSON object a line with -o json, ids included', async (t) => {
    const { runtime, server } = await serve(t);
    const run = follow(['-s', server, 'events', '-o', 'json']);
    await waitUntil(() => runtime.openFeeds === 1, 'the feed to open');
    await runtime.start(spec('web'));
    await waitUntil(() => lines(run.out.stdout).length === 2, 'two lines');
    const objects = lines(run.out.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(
      objects.map((o) => [o.id, o.type, o.process_name, o.group, o.status]),
      [
        ['1', 'created', 'web', null, 'STARTING'],
        ['2', 'running', 'web', null, 'RUNNING'],
      ],
    );
    run.interrupt();
    assert.equal(await run.code, 0);
  });

  for (const [how, drop] of [
    ['the server ends the stream', (ctx: { runtime: FakeRuntime }) => ctx.runtime.endFeeds()],
    ['the connection drops', (ctx: { app: { server: { closeAllConnections(): void } } }) => ctx.app.server.closeAllConnections()],
  ] as const) {
    it(`reconnects when ${how}, resuming after the last event printed: nothing lost, nothing twice`, async (t) => {
      const ctx = await serve(t);
      const { runtime, server } = ctx;
      const run = follow(['-s', server, 'events', '-o', 'json'], { hold: true });
      await waitUntil(() => runtime.openFeeds === 1, 'the feed to open');
      await runtime.start(spec('a'));
      await waitUntil(() => lines(run.out.stdout).length === 2, 'two lines');
      // Events while hpctl is away: the feed is gone before they happen.
      (drop as (c: typeof ctx) => void)(ctx);
      await waitUntil(() => runtime.openFeeds === 0 && run.out.sleeps.length === 1, 'the feed to end and hpctl to wait');
      await runtime.stop('a');
      run.proceed();
      await waitUntil(
        () => lines(run.out.stdout).length === 4,
        'the missed events',
        () => run.out.stdout + run.out.stderr,
      );
      await runtime.start(spec('b'));
      await waitUntil(() => lines(run.out.stdout).length === 6, 'the live events after');
      const ids = lines(run.out.stdout).map((l) => JSON.parse(l).id);
      assert.deepEqual(ids, ['1', '2', '3', '4', '5', '6']);
      assert.equal(runtime.lastEventOptions?.after, '2');
      assert.match(run.out.stderr, /^hpctl: .*; reconnecting in 1s after 2\nhpctl: following again after 2\n$/);
      run.interrupt();
      assert.equal(await run.code, 0);
    });
  }

  it('waits longer after each failed reconnection, and keeps trying while the server answers 503', async (t) => {
    const { runtime, server } = await serve(t);
    const run = follow(['-s', server, 'events']);
    await waitUntil(() => runtime.openFeeds === 1, 'the feed to open');
    runtime.failWith = new (await import('../../src/errors.ts')).HydroplaneError('runtime_unavailable', 'the Engine is away');
    runtime.endFeeds();
    await waitUntil(() => run.out.sleeps.length >= 6, 'six waits');
    assert.deepEqual(run.out.sleeps.slice(0, 6), [1000, 2000, 4000, 8000, 16000, 16000]);
    assert.match(run.out.stderr, /the Engine is away; reconnecting in 2s/);
    runtime.failWith = undefined;
    await waitUntil(() => /following again/.test(run.out.stderr), 'the reconnection');
    run.interrupt();
    assert.equal(await run.code, 0);
  });

  it('reconnects after a stream that ended with a timeout (408: the feed dropped a follower that fell behind)', async (t) => {
    const { runtime, server } = await serve(t);
    const { HydroplaneError } = await import('../../src/errors.ts');
    const feed = runtime.events.bind(runtime);
    let calls = 0;
    runtime.events = async (options) => {
      if (++calls > 1) return feed(options);
      return (async function* () {
        yield { id: '7', type: 'running', process_name: 'web', group: null, time: new Date().toISOString(), status: 'RUNNING' } as const;
        throw new HydroplaneError('request_timeout', 'the follower did not take its events');
      })();
    };
    const run = follow(['-s', server, 'events']);
    await waitUntil(
      () => /following again after 7/.test(run.out.stderr),
      'the reconnection',
      () => run.out.stderr,
    );
    assert.match(run.out.stderr, /did not take its events; reconnecting in 1s after 7/);
    run.interrupt();
    assert.equal(await run.code, 0);
  });

  it("fails at once, with the server's error, for what a retry cannot mend", async (t) => {
    const { server } = await serve(t);
    const bad = follow(['-s', server, 'events', '-g', 'no,such']);
    assert.equal(await bad.code, 1);
    assert.match(bad.out.stderr, /"error":400/);
    const resume = follow(['-s', server, 'events', '--after', 'not-an-id']);
    assert.equal(await resume.code, 1);
    assert.match(resume.out.stderr, /resume after/);
    const unreachable = follow(['-s', '127.0.0.1:1', 'events']);
    assert.equal(await unreachable.code, 1);
    assert.match(unreachable.out.stderr, /cannot reach/);
    const usage = follow(['-s', server, 'events', '-o', 'yaml']);
    assert.equal(await usage.code, 2);
  });

  it('escapes what a line shows', () => {
    const line = eventLine({
      id: '1',
      type: 'failed',
      process_name: 'web\u001b[31m',
      group: null,
      time: '2026-12-01T00:00:00Z',
      status: 'FAILED',
      reason: 'bad\nthing',
    });
    assert.ok(!/[\u0000-\u001f]/.test(line), line);
    assert.match(line, /^2026-12-01T00:00:00Z {2}failed {3}web.*- {2}FAILED {2}reason=/);
  });
});
