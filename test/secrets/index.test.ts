import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { NoneSecretStore, openSecretStore } from '../../src/secrets/index.ts';
import { LocalSecretStore } from '../../src/secrets/local-secret-store.ts';
import { tempDir } from './helpers.ts';

const root = await tempDir();

describe('openSecretStore', () => {
  it('gives the none store without asking for a password', async () => {
    const store = await openSecretStore({ secret_store_type: 'none' }, () => assert.fail('no password should be asked'));
    assert.ok(store instanceof NoneSecretStore);
    await assert.rejects(store.get('x'), (err: unknown) => err instanceof HydroplaneError && err.code === 'secrets_unavailable');
  });

  it('opens the configured local store with the password it is given', async () => {
    const location = join(root, 'store');
    await (await LocalSecretStore.init(location, 'pw')).add('token', '{"id": "abc"}');
    const store = await openSecretStore({ secret_store_type: 'local', store_location: location }, async () => 'pw');
    assert.equal(store.type, 'local');
    assert.equal(await store.get('token', 'id'), 'abc');
  });

  it('fails at once on a wrong password', async () => {
    const location = join(root, 'store');
    await assert.rejects(
      openSecretStore({ secret_store_type: 'local', store_location: location }, async () => 'not it'),
      (err: unknown) => err instanceof HydroplaneError && /wrong password/.test(err.message),
    );
  });
});
