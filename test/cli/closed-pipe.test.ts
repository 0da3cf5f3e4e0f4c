// `hpctl list | head -1`: a command whose reader closes the pipe stops quietly, without a stack
// trace; `hpctl --help > /dev/full`: one whose output cannot be written says so in one line and
// exits 1, as `cat > /dev/full` does. Runs the built commands, as a shell would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { skipOrFail, unbuilt } from '../support/needs.ts';
import { ROOT } from '../support/server-process.ts';

const COMMANDS = ['hpctl', 'local-secret-store'].map((name) => ({ name, path: join(ROOT, 'dist/cli', `${name}.js`) }));
const skip = skipOrFail('closed-pipe tests', [unbuilt(...COMMANDS.map((c) => c.path))]);

/** Runs the command with a stdout whose reading end is closed before the command starts. */
function runIntoClosedPipe(path: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The child holds only the writing end: its first write fails with EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('the commands, writing into a closed pipe', { skip }, () => {
  for (const { name, path } of COMMANDS) {
    it(`${name} --help stops quietly, exit status 0`, async () => {
      const { code, stderr } = await runIntoClosedPipe(path, ['--help']);
      assert.equal(stderr, '');
      assert.equal(code, 0);
    });
  }
});

describe(
  'the commands, writing into a full device',
  { skip: skip || (existsSync('/dev/full') ? false : 'no /dev/full on this system') },
  () => {
    for (const { name, path } of COMMANDS) {
      it(`${name} --help > /dev/full says it cannot write, in one line, exit status 1`, async () => {
        const full = openSync('/dev/full', 'w');
        try {
          const child = spawn(process.execPath, [path, '--help'], { stdio: ['ignore', full, 'pipe'] });
          let stderr = '';
          child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
          assert.equal(stderr, `${name}: cannot write to standard output: ENOSPC\n`);
          assert.equal(code, 1);
        } finally {
          closeSync(full);
        }
      });
    }
  },
);
