// The README's way to run the commands from a checkout: bin/hydroplane, bin/hpctl and
// bin/local-secret-store run the built commands with the project's Node 24, in place of their
// shell, so that the process a user starts, even in the background of a script, is the one that a
// signal stops. On an older Node, the built commands say which Node they need in one line.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MIN_NODE_MAJOR, nodeTooOld } from '../../src/cli/node-version.ts';
import { freePort } from '../support/net.ts';
import { ROOT } from '../support/server-process.ts';
import { skipOrFail, unbuilt } from '../support/needs.ts';

const run = promisify(execFile);
const BIN = join(ROOT, 'bin');
const skip = skipOrFail('launcher tests', [unbuilt(join(ROOT, 'dist/cli/hydroplane.js'))]);
const NO_ENGINE = 'unix:///tmp/hydroplane-test-no-such-docker.sock';

async function answers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
  } catch {
    return false;
  }
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('bin/ launchers', { skip }, () => {
  it('run each command with the project Node, whatever node is first on PATH', async () => {
    // A PATH whose first node is not one: the launcher must not use it.
    const dir = await mkdtemp(join(tmpdir(), 'hp-wrong-node-'));
    await writeFile(join(dir, 'node'), '#!/bin/sh\necho "the node on PATH was used" >&2\nexit 99\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    for (const command of ['hydroplane', 'hpctl', 'local-secret-store']) {
      const { stdout } = await run(join(BIN, command), ['--version'], { env });
      assert.match(stdout, /^\d+\.\d+\.\d+\n$/, command);
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`bin/hydroplane started in the background of a script stops on one ${signal} to the PID the script gave`, async () => {
      const port = await freePort();
      // A non-interactive shell starts background commands with SIGINT ignored; the server must still stop on it.
      const { stdout } = await run('sh', ['-c', `"${join(BIN, 'hydroplane')}" -p ${port} >/dev/null 2>&1 & echo $!`], {
        env: { ...process.env, DOCKER_HOST: NO_ENGINE },
      });
      const pid = Number(stdout.trim());
      await until(() => answers(port), 'the server answers');
      const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      assert.match(commandLine, /node .*dist\/cli\/hydroplane\.js/, 'the PID is the server itself');
      process.kill(pid, signal);
      await until(async () => !(await answers(port)), `the server stops on ${signal}`);
      // Gone, or a zombie where PID 1 does not reap orphans (a container's init may not).
      const ended = async () => !existsSync(`/proc/${pid}`) || / Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z '));
      await until(ended, 'the process is gone');
    });
  }

  it('bin/hydroplane in the foreground exits 0 on SIGTERM, as the server does', async () => {
    const port = await freePort();
    const child = spawn(join(BIN, 'hydroplane'), ['-p', String(port)], {
      env: { ...process.env, DOCKER_HOST: NO_ENGINE },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await until(() => answers(port), 'the server answers');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('an older Node', () => {
  it('is named, with the Node needed and what to run instead, for every version below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MIN_NODE_MAJOR - 1 }), fc.nat(30), fc.nat(30), (major, minor, patch) => {
        const problem = nodeTooOld('hpctl', `${major}.${minor}.${patch}`, '/usr/bin/node');
        assert.ok(problem !== undefined);
        assert.match(
          problem,
          new RegExp(
            `^hpctl: needs Node ${MIN_NODE_MAJOR} or newer, and /usr/bin/node is Node ${major}\\.${minor}\\.${patch}\\. .*bin/hpctl`,
          ),
        );
        assert.ok(problem.endsWith('\n') && problem.split('\n').length === 2, 'one line');
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: MIN_NODE_MAJOR, max: 99 }), fc.nat(30), (major, minor) => {
        assert.equal(nodeTooOld('hpctl', `${major}.${minor}.0`, '/x/node'), undefined);
      }),
    );
  });

  // The machine's own Node, when it is older (Debian 12's is 20): the built commands must say so.
  const machineNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
    if (!existsSync(path)) return false;
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    return Number(version.split('.')[0]) < MIN_NODE_MAJOR;
  });
  it(
    'makes the built commands say so in one line and exit 1',
    { skip: skip || (machineNode === undefined ? 'no Node older than 22 on this machine to run them with' : false) },
    () => {
      for (const command of ['hydroplane', 'hpctl', 'local-secret-store']) {
        const result = spawnSync(machineNode!, [join(ROOT, 'dist/cli', `${command}.js`), '--version'], { encoding: 'utf8' });
        assert.equal(result.status, 1, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, new RegExp(`^${command}: needs Node ${MIN_NODE_MAJOR} or newer, .*\\n$`));
      }
    },
  );
});

describe('the systemd unit in docs/production.md', () => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  it(
    'passes systemd-analyze verify, pointed at this checkout',
    { skip: analyze === undefined ? 'systemd-analyze is not installed' : false },
    async () => {
      const doc = await readFile(join(ROOT, 'docs/production.md'), 'utf8');
      const unit = /```ini\n([\s\S]*?)```/.exec(doc)?.[1];
      assert.ok(unit, 'the unit is in the page');
      assert.match(unit, /^ExecStart=\/opt\/hydroplane\/bin\/hydroplane /m, 'the unit starts the launcher, whose PID is the server');
      const dir = await mkdtemp(join(tmpdir(), 'hp-unit-'));
      const file = join(dir, 'hydroplane.service');
      await writeFile(file, unit.replaceAll('/opt/hydroplane', ROOT.replace(/\/$/, '')));
      const result = spawnSync(analyze!, ['verify', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      // verify warns without failing; a warning about this unit is a mistake in it.
      assert.doesNotMatch(result.stderr, /hydroplane\.service/, result.stderr);
    },
  );
});

describe('bin/hydroplane on a TCP Engine address', { skip }, () => {
  it('prints no deprecation warning from the Engine client', async () => {
    const port = await freePort();
    const child = spawn(join(BIN, 'hydroplane'), ['-p', String(port)], {
      // Nothing listens on port 9 (discard): the runtime's first call fails, after building its URL.
      env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await until(async () => /runtime does not answer/.test(output), 'the start-up check of the runtime is done');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.doesNotMatch(output, /DeprecationWarning|DEP0/, output);
  });
});
