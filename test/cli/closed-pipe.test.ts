// `hpctl list | head -1`: a command whose reader closes the pipe stops quietly, without a stack
// trace. Runs the built commands, as a shell pipeline would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
