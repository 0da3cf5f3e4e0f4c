// The server's container image, built and run as a user would: on a Node base made here without a
// registry, as a non-root user, without dev dependencies, driving the host's Docker Engine through
// the mounted socket. Slow for a test (an npm ci and an image build): about a minute.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerTestRun, dockerSkip, eventually, freePort, TEST_IMAGE } from '../support/docker.ts';
import { ROOT } from '../support/server-process.ts';

const BASE = 'hydroplane-test/node-base:24';
const run = new DockerTestRun();
const IMAGE = `hydroplane-test/server:${run.id}`;
const SERVER = `${run.prefix}server`;
const TOKEN = randomBytes(16).toString('hex');
// Everything but the app's own layers is the base's; dev dependencies would add well over this.
const MAX_APP_BYTES = 160e6;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function must(file: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await exec(file, args, timeoutMs);
  if (r.code !== 0) assert.fail(`${file} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function inspect<T>(kind: 'image' | 'container', name: string): Promise<T> {
  return (JSON.parse(await must('docker', [kind, 'inspect', name])) as T[])[0]!;
}

/** The Engine's socket on this machine, which the server's container gets mounted. */
function engineSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

const timings: string[] = [];
/** Whether this file made the base, so that it removes it and nobody else's. */
let madeBase = false;
let configDir: string | undefined;

after(async () => {
  await run.cleanup();
  await exec('docker', ['rmi', IMAGE]);
  if (madeBase) await exec('docker', ['rmi', BASE]);
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

describe('the server container image', { skip: await dockerSkip() }, () => {
  before(
    async () => {
      const baseExisted = (await exec('docker', ['image', 'inspect', BASE])).code === 0;
      madeBase = !baseExisted;
      let start = Date.now();
      await must('bash', ['scripts/build-node-base-image.sh', BASE], 60_000);
      timings.push(`base ${BASE}: ${((Date.now() - start) / 1000).toFixed(1)} s${baseExisted ? ' (it existed: kept)' : ''}`);
      start = Date.now();
      await must('bash', ['scripts/build-server-image.sh', '--base', BASE, IMAGE], 150_000);
      timings.push(`server image: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    },
    { timeout: 210_000 },
  );

  it('runs as a non-root user, on Node 24, with the production dependencies only', async (t) => {
    const config = (await inspect<{ Config: { User: string } }>('image', IMAGE)).Config;
    assert.ok(config.User !== '' && config.User !== 'root' && !/^0(:|$)/.test(config.User), `Config.User is '${config.User}'`);

    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    // A dev dependency that some production package also needs is rightly in the image.
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    for (const name of ['typescript', 'node', 'vite']) assert.ok(devOnly.includes(name), `${name} is a dev-only dependency`);
    const paths = [
      ...devOnly.map((name) => `node_modules/${name}`),
      ...Object.keys(pkg.dependencies).map((name) => `node_modules/${name}`),
      'node_modules/.bin/node',
      'dist/cli/hydroplane.js',
      'dist/dashboard',
      'package.json',
      'basic-config.yml',
      '/etc/hydroplane/config.yml',
    ];
    const probe = `
      const fs = require('node:fs');
      const paths = JSON.parse(process.argv[1]);
      const uid = fs.readFileSync('/proc/self/status', 'utf8').match(/^Uid:\\s+(\\d+)/m)[1];
      let codeWritable = true;
      try { fs.accessSync('dist/cli/hydroplane.js', fs.constants.W_OK); } catch { codeWritable = false; }
      console.log(JSON.stringify({
        uid: Number(uid), getuid: process.getuid(), node: process.versions.node, cwd: process.cwd(), codeWritable,
        exists: Object.fromEntries(paths.map((p) => [p, fs.existsSync(p)])),
      }));`;
    const out = await must('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'node',
      IMAGE,
      '-e',
      probe,
      JSON.stringify(paths),
    ]);
    const seen = JSON.parse(out) as {
      uid: number;
      getuid: number;
      node: string;
      cwd: string;
      codeWritable: boolean;
      exists: Record<string, boolean>;
    };
    t.diagnostic(`uid ${seen.uid}, Node ${seen.node}, in ${seen.cwd}`);
    assert.notEqual(seen.uid, 0, '/proc/self/status: not root');
    assert.equal(seen.getuid, seen.uid);
    assert.equal(seen.node.split('.')[0], '24');
    assert.equal(seen.codeWritable, false, 'the server cannot change its own code');
    for (const name of devOnly) assert.equal(seen.exists[`node_modules/${name}`], false, `dev dependency ${name} is in the image`);
    assert.equal(seen.exists['node_modules/.bin/node'], false);
    for (const name of Object.keys(pkg.dependencies))
      assert.equal(seen.exists[`node_modules/${name}`], true, `dependency ${name} is missing`);
    for (const p of ['dist/cli/hydroplane.js', 'package.json', 'basic-config.yml', '/etc/hydroplane/config.yml'])
      assert.equal(seen.exists[p], true, p);
    assert.equal(seen.exists['dist/dashboard'], existsSync(join(ROOT, 'dist/dashboard')), 'dist/dashboard as the checkout has it');
  });

  it('is small: the base plus well under 160 MB of its own', async (t) => {
    const image = (await inspect<{ Size: number }>('image', IMAGE)).Size;
    const base = (await inspect<{ Size: number }>('image', BASE)).Size;
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
    for (const line of timings) t.diagnostic(line);
    t.diagnostic(`size ${mb(image)}: base ${mb(base)}, the server's layers ${mb(image - base)}`);
    assert.ok(image - base < MAX_APP_BYTES, `the server's layers are ${mb(image - base)}`);
  });

  it('refuses to listen on 0.0.0.0 without an API token', async () => {
    const r = await exec('docker', ['run', '--rm', '--network', 'none', IMAGE]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without an API token/);
  });

  it("serves the API from its container and drives the host's Docker Engine, then stops with 0", { timeout: 90_000 }, async (t) => {
    configDir = await mkdtemp(join(tmpdir(), 'hp-image-'));
    const config = join(configDir, 'config.yml');
    await writeFile(config, `runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 1\n`);
    await chmod(config, 0o644);
    const socket = engineSocket();
    const socketGroup = statSync(socket).gid;
    await must('docker', ['network', 'create', run.network]);
    const port = await freePort();
    await must('docker', [
      'run',
      '-d',
      '--name',
      SERVER,
      '--network',
      run.network,
      '-p',
      `127.0.0.1:${port}:8000`,
      '-e',
      `HYDROPLANE_API_TOKEN=${TOKEN}`,
      '-v',
      `${config}:/etc/hydroplane/config.yml:ro`,
      '-v',
      `${socket}:/var/run/docker.sock`,
      '--group-add',
      String(socketGroup),
      '--health-interval',
      '1s',
      IMAGE,
    ]);
    const url = `http://127.0.0.1:${port}`;
    const logs = async () => {
      const r = await exec('docker', ['logs', SERVER]);
      return r.stdout + r.stderr;
    };
    await eventually(
      async () => {
        const state = (await inspect<{ State: { Running: boolean; ExitCode: number } }>('container', SERVER)).State;
        if (!state.Running) assert.fail(`the server's container exited with ${state.ExitCode}:\n${await logs()}`);
        return (await fetch(`${url}/health`)).ok || undefined;
      },
      'the server in its container to answer /health',
      30_000,
    ).catch(async (err: unknown) => assert.fail(`${(err as Error).message}\n${await logs()}`));

    assert.equal((await fetch(`${url}/process`)).status, 401, 'the token is required');
    if (existsSync(join(ROOT, 'dist/dashboard/index.html'))) {
      const page = await (await fetch(`${url}/`)).text();
      assert.doesNotMatch(page, /has not been built/, 'the image serves the built dashboard');
      const asset = /(?:src|href)="(\/dashboard\/assets\/[^"]+)"/.exec(page)?.[1];
      assert.ok(asset, `an asset in the dashboard's page:\n${page}`);
      assert.equal((await fetch(`${url}${asset}`)).status, 200, asset);
    }
    const auth = { authorization: `Bearer ${TOKEN}` };
    const name = run.name();
    const hostPort = await freePort();
    const created = await fetch(`${url}/process`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        process_name: name,
        container: { image_uri: TEST_IMAGE, ports: [{ container_port: 8080, host_port: hostPort }] },
      }),
    });
    assert.equal(created.status, 201, await created.clone().text());

    // The host's Engine runs it: on the network the config names, published on the host's loopback.
    const container = await run.docker.getContainer(name).inspect();
    assert.equal(container.Config.Labels['hydroplane/process-id'], name);
    assert.ok(run.network in container.NetworkSettings.Networks, 'on the configured network');
    const page = await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${hostPort}/`);
      return r.ok ? r.text() : undefined;
    }, `the process's web server on 127.0.0.1:${hostPort}`);
    assert.match(page, /Hello from Hydroplane/);

    const listed = (await (await fetch(`${url}/process`, { headers: auth })).json()) as { process_name: string; status: string }[];
    assert.deepEqual(
      listed.filter((p) => p.process_name === name).map((p) => p.status),
      ['RUNNING'],
    );
    const stopped = await fetch(`${url}/process/${name}`, { method: 'DELETE', headers: auth });
    assert.deepEqual(await stopped.json(), { stopped: [name] });
    await assert.rejects(run.docker.getContainer(name).inspect(), /no such container/i);

    const health = await eventually(async () => {
      const status = (await inspect<{ State: { Health?: { Status: string } } }>('container', SERVER)).State.Health?.Status;
      return status === 'starting' ? undefined : status;
    }, "the image's HEALTHCHECK");
    assert.equal(health, 'healthy');

    const start = Date.now();
    await must('docker', ['stop', '--time', '10', SERVER], 30_000);
    const elapsed = Date.now() - start;
    t.diagnostic(`docker stop took ${elapsed} ms`);
    const state = (await inspect<{ State: { ExitCode: number } }>('container', SERVER)).State;
    const output = await logs();
    assert.equal(state.ExitCode, 0, output);
    assert.ok(elapsed < 10_000, 'it exited on SIGTERM, before the grace time ran out');
    assert.match(output, /shutting down/);
    assert.doesNotMatch(output, new RegExp(TOKEN), 'the token never reaches the log');
  });
});
