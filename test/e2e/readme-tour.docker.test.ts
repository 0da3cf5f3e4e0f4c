// The README's tour, run as written: its bash block, line by line in one shell, at a person's
// pace (a second between lines; the server is started in the background and is given that second
// to listen, as a person typing the next line gives it). Only `npm ci` is left out: the test runs
// from an installed checkout. It uses the tour's own ports (8000 and 8080) and process name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { dockerSkip } from '../support/docker.ts';
import { skipOrFail } from '../support/needs.ts';
import { ROOT } from '../support/server-process.ts';

/** The lines of the README's tour, without comments, blank lines and `npm ci`. */
async function tourLines(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const tour = readme.slice(readme.indexOf('## A tour'));
  const block = /```bash\n([\s\S]*?)```/.exec(tour)?.[1];
  assert.ok(block, 'the tour has a bash block');
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && l !== 'npm ci');
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

const docker = await dockerSkip();
const busy = [];
for (const port of [8000, 8080]) if (!(await portFree(port))) busy.push(port);
const skip =
  docker ||
  skipOrFail('the README tour', [
    busy.length === 0
      ? undefined
      : { missing: `port ${busy.join(' and ')} is taken (the tour uses them)`, toEnable: 'stop what listens there' },
  ]);

describe("the README's tour, as written", { skip }, () => {
  const engine = new Dockerode();
  after(async () => {
    // Whatever a failed run left: the tour's process.
    for (const c of await engine.listContainers({ all: true, filters: { label: ['hydroplane/process-id=hello'] } })) {
      await engine.getContainer(c.Id).remove({ force: true });
    }
  });

  it('starts the server, runs the example, reaches it, stops both', async () => {
    const lines = await tourLines();
    assert.ok(
      lines.some((l) => l.startsWith('bin/hydroplane')),
      lines.join('\n'),
    );
    // One shell for the whole tour (so that `kill %1` names its server), one line a second.
    const script = ['set -e', ...lines.flatMap((l) => [l, 'sleep 1'])].join('\n');
    const shell = spawn('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, CI: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    shell.stdout.on('data', (d) => (output += d));
    shell.stderr.on('data', (d) => (output += d));
    const killer = setTimeout(() => shell.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
    clearTimeout(killer);
    assert.equal(code, 0, output);
    assert.match(output, /"status": "RUNNING"/, 'hpctl start printed the process, running');
    assert.match(output, /^NAME +GROUP +STATUS +ADDRESSES +AGE\nhello +examples +RUNNING +127\.0\.0\.1:8080 /m, output);
    assert.match(output, /Hello from Hydroplane/);
    assert.match(output, /"stopped": \[\s*"hello"\s*\]/);
    // The server is gone (kill %1) and so is the process.
    assert.equal(await portFree(8000), true, 'the server stopped');
    assert.deepEqual(await engine.listContainers({ all: true, filters: { label: ['hydroplane/process-id=hello'] } }), []);
  });
});
