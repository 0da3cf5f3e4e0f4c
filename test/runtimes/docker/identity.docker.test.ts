// One identity per process, against the real Engine: a process is the container that carries its
// hydroplane/process-id label, whatever the container is called. list, get, stop and logs all
// find it that way and act on it by id; list and get report it alike, statuses included.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import { GROUP_LABEL, PROCESS_LABEL } from '../../../src/labels.ts';
import type { ProcessInfo } from '../../../src/spec/process-info.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, TEST_IMAGE, countingDocker, dockerSkip, engineInfo, eventually } from '../../support/docker.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();
const runtime = run.runtime();
after(() => runtime.close());

/** A container made by hand (as an older server or a person would), labelled as `label`. */
async function container(name: string, label: string | undefined, cmd: string[], start = true): Promise<string> {
  const c = await run.docker.createContainer({
    name,
    Image: TEST_IMAGE,
    Cmd: cmd,
    Labels: label === undefined ? {} : { [PROCESS_LABEL]: label, [GROUP_LABEL]: `${run.prefix}g` },
    HostConfig: { NetworkMode: 'bridge' },
  });
  if (start) await c.start().catch(() => {});
  return c.id;
}

async function exists(id: string): Promise<boolean> {
  return run.docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

const IDLE = ['sh', '-c', "trap 'exit 0' TERM; echo hello from $HOSTNAME; sleep 3600 & wait"];

function notFound(err: unknown): boolean {
  assert.ok(err instanceof HydroplaneError, String(err));
  assert.equal(err.code, 'process_not_found', err.message);
  return true;
}

/** A process as list() reports it: without the start and end times that only get() reads. */
function withoutTimes(info: ProcessInfo | undefined): ProcessInfo | undefined {
  if (info === undefined) return undefined;
  const { started: _started, finished: _finished, ...rest } = info;
  return rest;
}

describe('one identity per process', { skip }, () => {
  it('acts on the container that carries the label, not on the one that has the name', async () => {
    const a = run.name('a');
    const b = run.name('b');
    // Labelled a, called b; and a container called a that is labelled as some third process.
    const labelledA = await container(b, a, IDLE);
    const c = run.name('c');
    const calledA = await container(a, c, IDLE);

    const listed = (await runtime.list()).filter((p) => p.process_name === a || p.process_name === b || p.process_name === c);
    assert.deepEqual(
      listed.map((p) => p.process_name),
      [a, c].sort(),
    );
    const gotA = await runtime.get(a);
    assert.deepEqual(
      withoutTimes(gotA),
      listed.find((p) => p.process_name === a),
    );
    assert.ok(gotA?.started, 'get() says when it started');
    assert.equal(await runtime.get(b), undefined, 'b is a container name, not a process');

    // logs of a are the labelled container's: its hostname is its short id.
    const text = await eventually(async () => {
      let out = '';
      for await (const chunk of await runtime.logs(a)) out += chunk;
      return out === '' ? undefined : out;
    }, 'the labelled container to say hello');
    assert.equal(text, `hello from ${labelledA.slice(0, 12)}\n`);

    await assert.rejects(runtime.stop(b), notFound);
    assert.equal(await exists(labelledA), true);
    assert.equal(await exists(calledA), true);

    // A start of a meets the container called a, which belongs to process c: refused, left alone.
    await assert.rejects(runtime.start(ProcessSpec.parse({ process_name: a, container: { image_uri: TEST_IMAGE } })), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError);
      assert.equal(err.code, 'name_taken', err.message);
      assert.ok(err.message.includes(c), err.message);
      return true;
    });

    await runtime.stop(a);
    assert.equal(await exists(labelledA), false, 'stop(a) removed the container labelled a');
    assert.equal(await exists(calledA), true, 'and left the one called a');
    await runtime.stop(c);
    assert.equal(await exists(calledA), false);
  });

  it('with two containers of one name (older servers): get and logs take the newest; stop removes both', async () => {
    const name = run.name('twice');
    const older = await container(`${name}-x`, name, IDLE);
    // The Engine's creation times are in seconds in the list: make the second one clearly newer.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const newer = await container(`${name}-y`, name, IDLE);
    const listed = (await runtime.list()).filter((p) => p.process_name === name);
    assert.equal(listed.length, 2);
    const info = await runtime.get(name);
    const created = (await run.docker.getContainer(newer).inspect()).Created;
    assert.equal(info?.created, new Date(Math.floor(Date.parse(created) / 1000) * 1000).toISOString());
    // The newer one has only just started: wait for its line rather than race its shell.
    const text = await eventually(async () => {
      let out = '';
      for await (const chunk of await runtime.logs(name)) out += chunk;
      return out === '' ? undefined : out;
    }, 'the newest container to say hello');
    assert.equal(text, `hello from ${newer.slice(0, 12)}\n`);
    await runtime.stop(name);
    assert.equal(await exists(older), false);
    assert.equal(await exists(newer), false);
    assert.equal(await runtime.get(name), undefined);
  });

  it('list and get agree on a container whose start failed: FAILED in both, with the same reason', async () => {
    const name = run.name('nostart');
    const id = await container(name, name, ['/no/such/command']);
    const state = (await run.docker.getContainer(id).inspect()).State;
    assert.equal(state.Status, 'created', 'the start failed and left it created');
    const listed = (await runtime.list()).find((p) => p.process_name === name);
    const got = await runtime.get(name);
    assert.deepEqual(got, listed);
    if ((await engineInfo()).kind === 'podman') {
      // Podman keeps no trace of a failed start (State.Error '', ExitCode 0, no event): such a
      // container looks like one whose start is still to come (README.md, "Podman").
      assert.equal(state.Error, '');
      assert.deepEqual(listed && { status: listed.status, reason: listed.reason }, { status: 'STARTING', reason: undefined });
      return;
    }
    assert.notEqual(state.Error, '');
    assert.equal(listed?.status, 'FAILED');
    assert.match(got?.reason ?? '', /no\/such\/command/);
  });

  it('list and get agree on every process of the run: running, exited, failed, created', async () => {
    const podman = (await engineInfo()).kind === 'podman';
    await container(run.name('run'), undefined, IDLE).catch(() => {});
    const names = [run.name('up'), run.name('done'), run.name('bad'), run.name('made')];
    await container(names[0]!, names[0], IDLE);
    await container(names[1]!, names[1], ['sh', '-c', 'exit 7']);
    await container(names[2]!, names[2], ['/no/such/command']);
    await container(names[3]!, names[3], IDLE, false);
    await run.docker.getContainer(names[1]!).wait();
    const listed = (await runtime.list()).filter((p) => names.includes(p.process_name));
    assert.deepEqual(
      listed.map((p) => [p.process_name, p.status, p.exit_code ?? null]),
      [
        [names[0], 'RUNNING', null],
        [names[1], 'EXITED', 7],
        // Podman keeps no trace of a failed start: see the test above.
        [names[2], podman ? 'STARTING' : 'FAILED', null],
        [names[3], 'STARTING', null],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );
    // get() says what list() says, and when each container started and ended (list() does not: it would cost an Engine call each).
    for (const p of listed) assert.deepEqual(withoutTimes(await runtime.get(p.process_name)), p, p.process_name);
  });

  it('takes any name as a label value, never as a path: hostile names find nothing and end nothing', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const hostile = fc.oneof(
        fc.constantFrom(
          '../containers/json',
          '//some-host/x',
          '..',
          '.',
          '%2F',
          'a/../../b',
          '?all=1',
          '#x',
          'a\\b',
          'a\u0000b',
          '\u001b[2J',
          'x'.repeat(5000),
        ),
        fc.string({
          unit: fc.constantFrom('/', '.', '%', '?', '#', '\\', '\u0000', '\n', 'a', 'é', '𝕏', '='),
          minLength: 1,
          maxLength: 40,
        }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }),
      );
      await fc.assert(
        fc.asyncProperty(hostile, async (name) => {
          assert.equal(await runtime.get(name), undefined);
          await assert.rejects(runtime.stop(name), notFound);
          await assert.rejects(runtime.logs(name), notFound);
        }),
        { numRuns: 60 },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('takes a name that starts several container IDs for a name: no process yet, then the one started under it', async () => {
    // The Engine looks a name up, then takes it as an ID prefix, and refuses an ambiguous one
    // (20.10: 500, 26.1: 400, Podman: 404). With a few hundred containers most two-letter hex names
    // are such a prefix; here, containers made by hand until two IDs begin alike.
    // A process name starts with a letter: two IDs that begin with the same letter and character.
    const byPrefix = new Map<string, number>();
    let prefix: string | undefined;
    for (let i = 0; i < 200 && prefix === undefined; i++) {
      const start = (await container(run.name('amb'), undefined, ['true'], false)).slice(0, 2);
      if (!/^[a-f]/.test(start)) continue;
      byPrefix.set(start, (byPrefix.get(start) ?? 0) + 1);
      if (byPrefix.get(start)! > 1) prefix = start;
    }
    assert.ok(prefix, 'two of 200 IDs begin with the same letter and character');
    assert.equal(await runtime.get(prefix), undefined);
    await assert.rejects(runtime.stop(prefix), notFound);
    await assert.rejects(runtime.logs(prefix), notFound);
    try {
      const started = await runtime.start(ProcessSpec.parse({ process_name: prefix, container: { image_uri: TEST_IMAGE, command: IDLE } }));
      assert.equal(started.process_name, prefix);
      assert.equal((await runtime.get(prefix))?.process_name, prefix);
      await runtime.stop(prefix);
      assert.equal(await runtime.get(prefix), undefined);
    } finally {
      await runtime.stop(prefix).catch(() => {});
    }
  });

  it('get is one Engine call (the container of its name, with its times), stop four, logs three', async () => {
    const { docker, requests } = countingDocker();
    const counted = run.runtime({ docker });
    const name = run.name('count');
    const id = await container(name, name, IDLE);

    requests.length = 0;
    await counted.get(name);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      [`GET /containers/${name}/json`],
    );

    // A process whose container is named otherwise (an older server's): the name, then the label, then the container.
    const other = run.name('count');
    const otherId = await container(`${other}-x`, other, IDLE);
    requests.length = 0;
    await counted.get(other);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      [`GET /containers/${other}/json`, 'GET /containers/json', `GET /containers/${otherId}/json`],
    );
    assert.deepEqual(JSON.parse(requests[1]!.query.get('filters')!), { label: [`${PROCESS_LABEL}=${other}`] });

    requests.length = 0;
    for await (const _ of await counted.logs(name)) {
      // read it all
    }
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      ['GET /containers/json', `GET /containers/${id}/json`, `GET /containers/${id}/logs`],
    );

    requests.length = 0;
    await counted.stop(name);
    const stopCalls = requests.map((r) => `${r.method} ${r.path}`);
    // The container of its name first; then its stop, and the list by label for any other, side by side; then its removal.
    assert.equal(stopCalls[0], `GET /containers/${name}/json`);
    assert.deepEqual(stopCalls.slice(1, 3).sort(), ['GET /containers/json', `POST /containers/${id}/stop`].sort());
    assert.equal(stopCalls.at(-1), `DELETE /containers/${id}`);
    assert.equal(stopCalls.length, 4);

    // A process with a second container named otherwise: the stop removes both.
    const twice = run.name('count');
    const first = await container(twice, twice, IDLE);
    const second = await container(`${twice}-x`, twice, IDLE);
    await counted.stop(twice);
    assert.equal(await exists(first), false);
    assert.equal(await exists(second), false);
  });
});
