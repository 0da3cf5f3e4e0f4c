import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../../src/errors.ts';
import { readStartSecrets } from '../../../src/runtimes/docker/start-secrets.ts';
import type { SecretStore } from '../../../src/secrets/secret-store.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';

const spec = (container: Partial<ProcessSpecInput['container']>) =>
  ProcessSpec.parse({ process_name: 'web', container: { image_uri: 'registry.example:5000/app:1', ...container } });

describe('readStartSecrets', () => {
  it('reads each secret env value as stored, and leaves literal values out', async () => {
    const store = new MemorySecretStore({ token: ' s3cret\n', db: JSON.stringify({ user: 'alice' }) });
    const { secretEnv, auth } = await readStartSecrets(
      store,
      spec({
        env: [
          { name: 'PLAIN', value: 'x' },
          { name: 'TOKEN', value: { secret_name: 'token' } },
          { name: 'DB_USER', value: { secret_name: 'db', key: 'user' } },
        ],
      }),
    );
    assert.deepEqual(
      [...secretEnv],
      [
        ['TOKEN', ' s3cret\n'],
        ['DB_USER', 'alice'],
      ],
    );
    assert.equal(auth, undefined);
  });

  it("logs in to the image's registry with a literal or secret username and a secret password", async () => {
    const store = new MemorySecretStore({ user: 'bob', pass: 'hunter2' });
    assert.deepEqual((await readStartSecrets(store, spec({ username: 'alice', password: { secret_name: 'pass' } }))).auth, {
      username: 'alice',
      password: 'hunter2',
      serveraddress: 'registry.example:5000',
    });
    assert.deepEqual((await readStartSecrets(store, spec({ image_uri: 'nginx', username: { secret_name: 'user' } }))).auth, {
      username: 'bob',
      password: '',
      serveraddress: 'https://index.docker.io/v1/',
    });
  });

  it('fails with the store error only after every read has settled', async () => {
    let pending = 0;
    let settledBeforeFailure = true;
    const store: SecretStore = {
      type: 'slow',
      async get(name) {
        pending += 1;
        await new Promise((resolve) => setTimeout(resolve, name === 'missing' ? 1 : 30));
        pending -= 1;
        if (name === 'missing') throw new HydroplaneError('secret_not_found', `no secret named '${name}'`);
        return 'v';
      },
    };
    await assert.rejects(
      readStartSecrets(
        store,
        spec({
          env: [
            { name: 'A', value: { secret_name: 'missing' } },
            { name: 'B', value: { secret_name: 'slow' } },
          ],
          username: 'alice',
          password: { secret_name: 'slow' },
        }),
      ).finally(() => (settledBeforeFailure = pending === 0)),
      (err: unknown) => err instanceof HydroplaneError && err.code === 'secret_not_found',
    );
    assert.ok(settledBeforeFailure, 'no read is left running behind the error');
  });
});
