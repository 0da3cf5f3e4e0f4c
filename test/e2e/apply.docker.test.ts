// Declarative apply and per-process lifetimes through a real server on a real Engine: PUT
// created/unchanged/replaced with the digest kept as a container label, ten concurrent PUTs of
// three specs leaving one container, and a process with a short max_age_minutes stopped by the
// servers' own sweeps (two servers sweeping the Engine at once, without harm). Only processes
// with an expiry are ever swept, so the shared Engine is safe.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXPIRES_AT_LABEL, GROUP_LABEL, PROCESS_LABEL, SPEC_DIGEST_LABEL } from '../../src/labels.ts';
import { type RunningServer, startServer } from '../../src/server/start-server.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { specDigest } from '../../src/spec/spec-digest.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip, eventually } from '../support/docker.ts';
import { WARN, call, captureLogger, tally, type LogLine } from '../faults/support.ts';
import { writeConfig } from '../support/server-process.ts';

const run = new DockerTestRun();
const skip = await dockerSkip();

const spec = (name: string, extra: Record<string, unknown> = {}, env = 'one') => ({
  process_name: name,
  group: `${run.prefix}g`,
  container: { image_uri: TEST_IMAGE, command: ['sleep', '300'], env: [{ name: 'VARIANT', value: env }] },
  ...extra,
});
const digestOf = (raw: unknown) => specDigest(ProcessSpec.parse(raw));

/** The Engine's containers of this process, by its label, in any state. */
async function containersOf(name: string) {
  return run.docker.listContainers({ all: true, filters: { label: [`${PROCESS_LABEL}=${name}`] } });
}

describe('apply and lifetimes on a real Engine', { skip }, () => {
  const servers: Array<{ server: RunningServer; lines: LogLine[] }> = [];
  let base = '';

  before(async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
    // Two servers on the one Engine, both sweeping often: they must not get in each other's way.
    for (let i = 0; i < 2; i++) {
      const { logger, lines } = captureLogger();
      const server = await startServer({
        configPath: config,
        host: '127.0.0.1',
        port: 0,
        logger,
        env: {},
        password: () => Promise.reject(new Error('no secret store here')),
        expirySweepIntervalMs: 300,
      });
      servers.push({ server, lines });
    }
    base = servers[0]!.server.url;
  });
  after(async () => {
    for (const { server } of servers) await server.close();
  });

  it('creates (201), leaves the same spec (200 unchanged), replaces a changed one (200 replaced); the digest is a container label', async () => {
    const name = run.name('web');
    const created = await call(base, 'PUT', `/process/${name}`, spec(name));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.outcome, 'created');
    assert.equal(created.body.spec_digest, digestOf(spec(name)));
    const [container] = await containersOf(name);
    const ours = Object.fromEntries(Object.entries(container?.Labels ?? {}).filter(([key]) => key.startsWith('hydroplane/')));
    assert.deepEqual(ours, {
      [PROCESS_LABEL]: name,
      [GROUP_LABEL]: `${run.prefix}g`,
      [SPEC_DIGEST_LABEL]: digestOf(spec(name)),
    });

    // Through the other server: the state is the Engine's, not a server's.
    const unchanged = await call(servers[1]!.server.url, 'PUT', `/process/${name}`, spec(name));
    assert.equal(unchanged.status, 200);
    assert.equal(unchanged.body.outcome, 'unchanged');
    assert.equal((await containersOf(name))[0]?.Id, container?.Id, 'the same container');

    const replaced = await call(base, 'PUT', `/process/${name}`, spec(name, {}, 'two'));
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.outcome, 'replaced');
    const after = await eventually(async () => {
      const left = await containersOf(name);
      return left.length === 1 ? left : undefined;
    }, 'one container');
    assert.notEqual(after[0]?.Id, container?.Id);
    assert.equal(after[0]?.Labels[SPEC_DIGEST_LABEL], digestOf(spec(name, {}, 'two')));
  });

  it('finds a process that POST started from the same spec unchanged, and replaces an exited one', async () => {
    const name = run.name('posted');
    const oneShot = spec(name, { container: { image_uri: TEST_IMAGE, command: ['true'] } });
    assert.equal((await call(base, 'POST', '/process', spec(name))).status, 201);
    assert.equal((await call(base, 'PUT', `/process/${name}`, spec(name))).body.outcome, 'unchanged');
    assert.equal((await call(base, 'PUT', `/process/${name}`, oneShot)).body.outcome, 'replaced');
    await eventually(async () => ((await call(base, 'GET', `/process/${name}`)).body.status === 'EXITED' ? true : undefined), 'the exit');
    const again = await call(base, 'PUT', `/process/${name}`, oneShot);
    assert.equal(again.body.outcome, 'replaced', 'an exited process is started again, even from the same spec');
  });

  it('leaves exactly one container, from one of the specs, after 10 concurrent PUTs of 3 specs', async () => {
    const name = run.name('race');
    const specs = ['a', 'b', 'c'].map((v) => spec(name, {}, v));
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(servers[i % 2]!.server.url, 'PUT', `/process/${name}`, specs[i % 3])),
    );
    const statuses = tally(answers.map((a) => a.status));
    assert.deepEqual(
      Object.keys(statuses).filter((s) => s !== '200' && s !== '201'),
      [],
      `every PUT succeeds: ${JSON.stringify(statuses)} ${JSON.stringify(answers.filter((a) => a.status >= 300).map((a) => a.body))}`,
    );
    const left = await eventually(async () => {
      const containers = await containersOf(name);
      return containers.length === 1 ? containers : undefined;
    }, 'exactly one container');
    assert.ok(specs.map(digestOf).includes(left[0]!.Labels[SPEC_DIGEST_LABEL]!), 'its digest is one of the specs');
    assert.equal(left[0]?.State, 'running');
  });

  it("stops a process once its max_age_minutes has passed, by the servers' own sweeps, and leaves the others", async () => {
    const brief = run.name('brief');
    const stays = run.name('stays');
    const answer = await call(base, 'PUT', `/process/${brief}`, spec(brief, { max_age_minutes: 0.05 }));
    assert.equal(answer.status, 201);
    await call(base, 'POST', '/process', spec(stays));
    const expires = Date.parse(answer.body.expires);
    const created = Date.parse(answer.body.created);
    assert.ok(Math.abs(expires - created - 3000) < 2000, `expires ${answer.body.expires} is created ${answer.body.created} + 3 s`);
    assert.equal((await containersOf(brief))[0]?.Labels[EXPIRES_AT_LABEL], answer.body.expires);
    const listed = (await call(base, 'GET', '/process')).body.find((p: { process_name: string }) => p.process_name === brief);
    assert.equal(listed.expires, answer.body.expires);

    await eventually(async () => ((await containersOf(brief)).length === 0 ? true : undefined), 'the expired process is gone', 15_000);
    assert.ok(Date.now() >= expires, 'not before its expiry');
    assert.equal((await call(base, 'GET', `/process/${brief}`)).status, 404);
    assert.equal((await containersOf(stays)).length, 1, 'a process without max_age_minutes stays');
    const swept = servers.flatMap(({ lines }) => lines.filter((l) => l.msg === 'expiry sweep: stopped a process past its expiry'));
    // Both servers may get to it in the same round: the Engine then tells the second stop that the
    // removal is already going on, which the runtime counts as done. (Another test's server on the
    // shared Engine may get there first, too.)
    assert.ok(swept.length <= servers.length, `stopped ${swept.length} times`);
    assert.ok(swept.every((l) => l['process'] === brief));
    const warnings = servers.flatMap(({ lines }) => lines.filter((l) => l.level >= WARN && String(l.msg).startsWith('expiry sweep')));
    assert.deepEqual(warnings, [], 'two servers sweeping at once do no harm');
  });
});
