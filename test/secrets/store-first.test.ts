// Nobody is asked for the password of a store that is not there, and a password that cannot come
// from anywhere is named by its variable: through local-secret-store and through the server's
// start alike.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/local-secret-store.ts';
import { PASSWORD_ENV } from '../../src/cli/password.ts';
import type { HydroplaneError } from '../../src/errors.ts';
import { openSecretStore } from '../../src/secrets/index.ts';
import { FakeTty, pipeOf, Sink, tempDir } from './helpers.ts';

describe('the store before its password', () => {
  it('local-secret-store says there is no store, without prompting, whatever the command', async () => {
    const missing = join(await tempDir(), 'no-store');
    for (const command of [
      ['get', 'x'],
      ['add', 'x'],
      ['remove', 'x'],
    ]) {
      const tty = new FakeTty();
      const stderr = new Sink();
      const code = await main(['--store_location', missing, ...command], { stdin: tty, stdout: new Sink(), stderr, env: {} });
      assert.equal(code, 1, stderr.text);
      assert.match(stderr.text, /^local-secret-store: no local secret store at .*no-store: make one with/);
      assert.doesNotMatch(stderr.text, /Password/, 'no prompt');
      assert.deepEqual(tty.rawModes, [], 'the terminal was never put in raw mode for a password');
    }
  });

  it('local-secret-store names the password variable when a pipe gives no password', async () => {
    const dir = join(await tempDir(), 'store');
    const made = await main(['--store_location', dir, 'init'], {
      stdin: pipeOf(''),
      stdout: new Sink(),
      stderr: new Sink(),
      env: { [PASSWORD_ENV]: 'pw' },
    });
    assert.equal(made, 0);
    const stderr = new Sink();
    const code = await main(['--store_location', dir, 'get', 'x'], { stdin: pipeOf(''), stdout: new Sink(), stderr, env: {} });
    assert.equal(code, 1);
    assert.match(stderr.text, new RegExp(`${PASSWORD_ENV} is not set, and standard input is not a terminal`));
  });

  it("the server's start checks the store before it asks for the password", async () => {
    const missing = join(await tempDir(), 'no-store');
    let asked = 0;
    await assert.rejects(
      openSecretStore({ secret_store_type: 'local', store_location: missing }, async () => {
        asked++;
        return 'pw';
      }),
      (error: HydroplaneError) => {
        assert.equal(error.code, 'secrets_unavailable');
        assert.match(error.message, /no local secret store at .*no-store/);
        return true;
      },
    );
    assert.equal(asked, 0);
  });
});
