// Many requests at once, through the real HTTP server on the real Engine: one name is won once,
// many names all start, a group stop leaves nothing, and two servers that meet a missing network
// at the same moment end up sharing one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server/start-server.ts';
import { GROUP_LABEL, PROCESS_LABEL } from '../../src/labels.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip } from '../support/docker.ts';
import { type LogLine, WARN, call, captureLogger, startInProcess, tally } from './support.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();

const configYaml = (network: string) =>
  `runtime:\n  runtime_type: docker\n  network: ${network}\n  stop_grace_seconds: 1\n  request_timeout_seconds: 60\n`;
/** Cheap: no ports, nothing but a sleeping process. */
const sleeper = (name: string, group?: string) => ({
  process_name: name,
  ...(group === undefined ? {} : { group }),
  container: { image_uri: TEST_IMAGE, command: ['sleep', '300'] },
});

async function containersNamed(name: string) {
  // The name filter is a regular expression over '/name' on Docker and over 'name' on Podman: a
  // plain substring finds it on both, and the exact name is checked here.
  const found = await run.docker.listContainers({ all: true, filters: { name: [name] } });
  return found.filter((c) => c.Names.includes(`/${name}`));
}

const errorsIn = (lines: LogLine[]) => lines.filter((l) => l.level > WARN);

describe('concurrent requests on the real Engine', { skip }, () => {
  let server: RunningServer;
  let logs: LogLine[];

  before(async () => {
    const captured = captureLogger();
    logs = captured.lines;
    server = await startInProcess(configYaml(run.network), captured.logger);
  });
  after(() => server?.close());

  it('20 concurrent starts of one name: one 201, nineteen 409, one container', async () => {
    const name = run.name('same');
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(server.url, 'POST', '/process', sleeper(name))));
    assert.deepEqual(
      tally(answers.map((a) => a.status)),
      { 201: 1, 409: 19 },
      JSON.stringify(answers.filter((a) => a.status !== 201 && a.status !== 409)),
    );
    for (const a of answers.filter((x) => x.status === 409)) {
      assert.equal(a.body.error, 409);
      assert.equal(a.body.code, 'process_exists', a.body.details);
    }
    const containers = await containersNamed(name);
    assert.equal(containers.length, 1, 'exactly one container of that name');
    assert.equal(containers[0]?.Labels[PROCESS_LABEL], name);
    assert.equal(containers[0]?.State, 'running');
    assert.deepEqual(errorsIn(logs), [], 'a lost race is a 409, not an error');
  });

  it('50 concurrent starts of different names all give 201; the list shows 50; a group stop leaves none', async () => {
    const group = `${run.prefix}fifty`;
    const names = Array.from({ length: 50 }, () => run.name('many'));
    const answers = await Promise.all(names.map((name) => call(server.url, 'POST', '/process', sleeper(name, group))));
    assert.deepEqual(tally(answers.map((a) => a.status)), { 201: 50 }, JSON.stringify(answers.find((a) => a.status !== 201)?.body));
    assert.deepEqual(answers.map((a): string => a.body.process_name).sort(), [...names].sort());

    const listed = await call(server.url, 'GET', '/process');
    assert.equal(listed.status, 200);
    const ours = (listed.body as Array<{ process_name: string; group: string }>).filter((p) => p.group === group);
    assert.equal(ours.length, 50);
    const byGroup = await call(server.url, 'GET', `/group/${group}`);
    assert.deepEqual((byGroup.body as Array<{ process_name: string }>).map((p) => p.process_name).sort(), [...names].sort());

    const stopped = await call(server.url, 'DELETE', `/group/${group}`);
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.deepEqual([...(stopped.body as { stopped: string[] }).stopped].sort(), [...names].sort());
    const left = await run.docker.listContainers({ all: true, filters: { label: [`${GROUP_LABEL}=${group}`] } });
    assert.deepEqual(
      left.map((c) => c.Names),
      [],
      'the Engine has no container of the group',
    );
    assert.deepEqual((await call(server.url, 'GET', `/group/${group}`)).body, []);
    assert.deepEqual(errorsIn(logs), []);
  });

  it('two servers that both find the network missing end up on one network, and every start works', async (t) => {
    const network = `${run.prefix}shared`;
    after(async () => {
      // Best effort, a few times: Docker 20.10 can leak an endpoint count in such races, and then
      // refuses to remove the network ("has active endpoints") until the daemon restarts.
      for (let attempt = 0; attempt < 5; attempt++) {
        const nets = (await run.docker.listNetworks({ filters: { name: [network] } })).filter((n) => n.Name === network);
        if (nets.length === 0) return;
        await Promise.all(
          nets.map((n) =>
            run.docker
              .getNetwork(n.Id)
              .remove()
              .catch(() => {}),
          ),
        );
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    const a = captureLogger();
    const b = captureLogger();
    const servers = await Promise.all([startInProcess(configYaml(network), a.logger), startInProcess(configYaml(network), b.logger)]);
    try {
      const names = Array.from({ length: 8 }, () => run.name('two'));
      const answers = await Promise.all(names.map((name, i) => call(servers[i % 2]!.url, 'POST', '/process', sleeper(name))));
      assert.deepEqual(tally(answers.map((x) => x.status)), { 201: 8 }, JSON.stringify(answers.find((x) => x.status !== 201)?.body));

      const nets = (await run.docker.listNetworks({ filters: { name: [network] } })).filter((n) => n.Name === network);
      assert.equal(nets.length, 1, `one network named ${network}, not ${nets.length}`);
      const attached = await run.docker.listContainers({ all: true, filters: { network: [nets[0]!.Id] } });
      assert.deepEqual(attached.map((c) => c.Names[0]!.slice(1)).sort(), [...names].sort(), 'every process is on that one network');
      // A start after the race still works on both servers.
      for (const s of servers) assert.equal((await call(s.url, 'POST', '/process', sleeper(run.name('after')))).status, 201);
      assert.deepEqual([...errorsIn(a.lines), ...errorsIn(b.lines)], []);
      const removed = [...a.lines, ...b.lines].filter((l) => l.msg === 'removed duplicate networks of the same name');
      t.diagnostic(`duplicate networks made by the race and removed: ${removed.flatMap((l) => l['removed'] as string[]).length}`);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await run.cleanupContainers();
    }
  });
});
