// The `hydroplane` command started with nothing: no -c, no config file in the folder. The built-in
// defaults apply (the local Docker Engine, no secret store) and it says so in one line; a setting
// from the environment that is wrong is one line too, not a stack trace. Needs no Docker Engine:
// DOCKER_HOST points at a socket that does not exist.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/net.ts';
import { HYDROPLANE_BIN, NODE } from '../support/server-process.ts';

const NO_ENGINE = 'unix:///tmp/hydroplane-test-no-such-docker.sock';

interface Run {
  code: number | null;
  output: string;
}

/** Runs the command in `cwd`; when `untilHealthy`, stops it with SIGTERM once /health answers. */
async function runIn(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  untilHealthy: boolean,
): Promise<Run & { health?: unknown; ready?: number }> {
  const port = await freePort();
  const child = spawn(NODE, [HYDROPLANE_BIN, '-p', String(port), ...args], {
    cwd,
    env: { ...process.env, DOCKER_HOST: NO_ENGINE, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let health: unknown;
  let ready: number | undefined;
  if (untilHealthy) {
    for (let i = 0; i < 200 && child.exitCode === null && health === undefined; i++) {
      try {
        health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (health !== undefined) ready = (await fetch(`http://127.0.0.1:${port}/ready`)).status;
    // The start-up check of the runtime is said, not waited for: give it its moment.
    for (let i = 0; i < 100 && !/runtime (answers|does not answer)/.test(output); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
  }
  const code = await exited;
  clearTimeout(killer);
  return { code, output, health, ready };
}

describe('hydroplane without a config', () => {
  let empty: string;
  before(async () => {
    empty = await mkdtemp(join(tmpdir(), 'hp-no-config-'));
  });
  after(() => rm(empty, { recursive: true, force: true }));

  it('starts on the built-in defaults, outside the checkout, saying so in one line', async () => {
    const run = await runIn(empty, [], {}, true);
    assert.deepEqual(run.health, { status: 'ok', runtime: 'docker' }, run.output);
    assert.equal(run.ready, 503, 'not ready: there is no Engine');
    assert.match(
      run.output,
      /the docker runtime does not answer: .*hydroplane-test-no-such-docker\.sock.*; starting anyway, and GET \/ready answers 503 until it does/,
    );
    assert.equal(run.code, 0, run.output);
    const said = run.output.split('\n').filter((l) => l.includes('built-in defaults'));
    assert.equal(said.length, 2, run.output); // the one line, and the start-up line naming the config
    assert.match(said[0]!, /no config file .*the local Docker Engine and no secret store/);
  });

  it('reads basic-config.yml from the folder when it is there, as the original did', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-basic-config-'));
    try {
      await writeFile(join(dir, 'basic-config.yml'), 'runtime:\n  runtime_type: docker\nprocess_culling:\n  max_age_minutes: 5\n');
      const run = await runIn(dir, [], {}, true);
      assert.equal(run.code, 0, run.output);
      assert.doesNotMatch(run.output, /built-in defaults/);
      assert.match(run.output, /basic-config\.yml/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a -c file that is not there, rather than falling back', async () => {
    const run = await runIn(empty, ['-c', 'missing.yml'], {}, false);
    assert.equal(run.code, 1);
    assert.match(run.output, /^hydroplane: cannot read the config file missing\.yml: no such file/m);
  });

  for (const level of ['loud', 'inf o', '10', 'x'.repeat(500)]) {
    it(`refuses LOG_LEVEL=${JSON.stringify(level.slice(0, 12))} in one line naming the levels`, async () => {
      const run = await runIn(empty, [], { LOG_LEVEL: level }, false);
      assert.equal(run.code, 1, run.output);
      const lines = run.output.trim().split('\n');
      assert.equal(lines.length, 1, run.output);
      assert.match(lines[0]!, /^hydroplane: LOG_LEVEL is '.*'; expected one of trace, debug, info, warn, error, fatal, silent$/);
      assert.ok(lines[0]!.length < 200, lines[0]);
    });
  }

  it('takes LOG_LEVEL in any case and with spaces around it, and an empty one as unset', async () => {
    const warn = await runIn(empty, [], { LOG_LEVEL: ' WARN ' }, true);
    assert.equal(warn.code, 0, warn.output);
    assert.doesNotMatch(warn.output, /"level":30/, 'no info lines at warn');
    const unset = await runIn(empty, [], { LOG_LEVEL: '' }, true);
    assert.equal(unset.code, 0, unset.output);
    assert.match(unset.output, /"level":30/, 'info lines at the default level');
  });
});

describe('hydroplane --log-format', () => {
  let empty: string;
  before(async () => {
    empty = await mkdtemp(join(tmpdir(), 'hp-log-format-'));
  });
  after(() => rm(empty, { recursive: true, force: true }));

  it('text: a readable line each, with the time, the level and the message; one line says where it listens', async () => {
    const run = await runIn(empty, ['--log-format', 'text'], {}, true);
    assert.equal(run.code, 0, run.output);
    const lines = run.output.trim().split('\n');
    for (const line of lines) assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): \S/, line);
    assert.equal(lines.filter((l) => l.includes('listening on http://127.0.0.1:')).length, 1, run.output);
    assert.doesNotMatch(run.output, /"level"|"time"|\u001b\[/, 'no JSON, no colours when the output is not a terminal');
  });

  it('json (and auto when the output is not a terminal): one JSON object a line, one of them saying where it listens', async () => {
    for (const args of [['--log-format', 'json'], []]) {
      const run = await runIn(empty, args, {}, true);
      assert.equal(run.code, 0, run.output);
      const lines = run.output
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; time: number });
      assert.equal(lines.filter((l) => l.msg.startsWith('listening on http://127.0.0.1:')).length, 1, run.output);
      assert.ok(lines.every((l) => typeof l.time === 'number'));
    }
  });

  it('refuses another format as a usage error', async () => {
    const run = await runIn(empty, ['--log-format', 'pretty'], {}, false);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /--log-format.*Allowed choices are auto, json, text/s);
  });
});
