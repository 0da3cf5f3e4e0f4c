// The README's tour, as a newcomer runs it: build the offline example's image, run the server
// command, start the example with hpctl, open it at the address hpctl lists, stop it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main as hpctl } from '../../src/cli/hpctl.ts';
import { DockerTestRun, dockerSkip, eventually } from '../support/docker.ts';
import { freePort } from '../support/net.ts';
import { ROOT, startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

const run = new DockerTestRun();
const skip = await dockerSkip();

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await hpctl(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} });
  return { code, stdout, stderr };
}

describe('the tour, end to end', { skip }, () => {
  let server: ServerProcess;
  let specFile: string;
  const name = run.name('hello');
  const group = `${run.prefix}examples`;

  before(async () => {
    await promisify(execFile)('bash', [join(ROOT, 'examples/hello/build-image.sh')]);
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
    server = await startServerProcess(['-c', config]);
    // The example as shipped, with a name, group and host port of this run's own.
    const spec = JSON.parse(await readFile(join(ROOT, 'examples/hello/hello.json'), 'utf8'));
    spec.process_name = name;
    spec.group = group;
    spec.container.ports[0].host_port = await freePort();
    specFile = join(await mkdtemp(join(tmpdir(), 'hp-tour-')), 'hello.json');
    await writeFile(specFile, JSON.stringify(spec));
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  it('starts the example, serves its page at the listed address, and stops it', async () => {
    const host = `127.0.0.1:${server.port}`;
    const started = await cli(['-s', host, 'start', specFile]);
    assert.equal(started.code, 0, started.stderr);
    const info = JSON.parse(started.stdout);
    assert.equal(info.process_name, name);
    assert.equal(info.status, 'RUNNING');

    const listed = await cli(['-s', host, 'list', '-g', group]);
    assert.equal(listed.code, 0, listed.stderr);
    const [entry] = JSON.parse(listed.stdout);
    assert.equal(entry.process_name, name);
    assert.equal(entry.group, group);
    assert.match(entry.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    const [address] = entry.socket_addresses;
    assert.deepEqual(Object.keys(address).sort(), ['host', 'is_public', 'port']);
    assert.equal(address.is_public, false);
    assert.equal(address.host, '127.0.0.1');

    const page = await eventually(async () => {
      const res = await fetch(`http://${address.host}:${address.port}/`);
      return res.ok ? res.text() : undefined;
    }, 'the example page');
    assert.match(page, /Hello from Hydroplane/);

    const stopped = await cli(['-s', host, 'stop', name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(JSON.parse((await cli(['-s', host, 'list', '-g', group])).stdout), []);
    const left = await run.docker.listContainers({ all: true, filters: { name: [name] } });
    assert.deepEqual(
      left.map((c) => c.Names),
      [],
    );
  });
});
