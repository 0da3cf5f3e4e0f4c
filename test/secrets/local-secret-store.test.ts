import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { expandStoreLocation, LocalSecretStore, secretFileName } from '../../src/secrets/local-secret-store.ts';
import { tempDir } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';
const VALUE = 's3cr3t-VALUE-that-must-not-leak';
const root = await tempDir();

function isError(code: string, ...mustContain: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof HydroplaneError, `expected a HydroplaneError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const text of mustContain) assert.ok(err.message.includes(text), `${JSON.stringify(err.message)} should name ${text}`);
    assert.ok(!err.message.includes(VALUE), 'the message must not contain a secret value');
    assert.ok(!err.message.includes(PASSWORD), 'the message must not contain the password');
    return true;
  };
}

describe('LocalSecretStore', () => {
  let dir: string;
  let store: LocalSecretStore;

  before(async () => {
    dir = join(root, 'store');
    store = await LocalSecretStore.init(dir, PASSWORD);
  });

  it('writes the original format: a 16-byte salt, a sentinel token, nothing else', async () => {
    assert.equal(store.type, 'local');
    assert.equal(store.location, dir);
    assert.deepEqual((await readdir(dir)).sort(), ['.salt', '.sentinel']);
    assert.equal((await readFile(join(dir, '.salt'))).length, 16);
    assert.match(await readFile(join(dir, '.sentinel'), 'ascii'), /^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
  });

  it('round-trips a plain secret, in a file named by the MD5 of the name, as a token without newline', async () => {
    await store.add('plain', VALUE);
    assert.equal(await store.get('plain'), VALUE);
    const file = createHash('md5').update('plain').digest('hex');
    assert.equal(secretFileName('plain'), file);
    const token = await readFile(join(dir, file), 'ascii');
    assert.match(token, /^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
    assert.ok(!token.includes(VALUE));
  });

  it('reads a fresh handle on the same folder', async () => {
    await store.add('reopened', 'ünïcødé ✓ and a newline\n');
    const again = await LocalSecretStore.open(dir, PASSWORD);
    assert.equal(await again.get('reopened'), 'ünïcødé ✓ and a newline\n');
  });

  it('reads one key of a JSON object secret, and strings, numbers and objects in it', async () => {
    await store.add('db', JSON.stringify({ username: 'admin', password: VALUE, port: 5432, nested: { a: 1 } }));
    assert.equal(await store.get('db', 'username'), 'admin');
    assert.equal(await store.get('db', 'password'), VALUE);
    assert.equal(await store.get('db', 'port'), '5432');
    assert.equal(await store.get('db', 'nested'), '{"a":1}');
  });

  it('names the secret and the store, never the value, when a key is missing or the value is not JSON', async () => {
    await assert.rejects(store.get('db', 'nope'), isError('secret_not_found', "'db'", "'nope'"));
    await store.add('not-json', VALUE);
    await assert.rejects(store.get('not-json', 'k'), isError('secret_not_found', "'not-json'", "'k'"));
  });

  it('reports a missing secret with its name and the store location', async () => {
    await assert.rejects(store.get('missing'), isError('secret_not_found', "'missing'", dir));
    assert.equal(await store.has('missing'), false);
    assert.equal(await store.has('plain'), true);
  });

  it('refuses to replace a secret without overwrite, and replaces it with overwrite', async () => {
    await store.add('rotating', 'first');
    await assert.rejects(store.add('rotating', VALUE), isError('invalid_request', "'rotating'", 'overwrite'));
    assert.equal(await store.get('rotating'), 'first');
    await store.add('rotating', 'second', { overwrite: true });
    assert.equal(await store.get('rotating'), 'second');
    await store.add('new-with-overwrite', 'fine', { overwrite: true });
    assert.equal(await store.get('new-with-overwrite'), 'fine');
  });

  it('removes a secret, and reports removing a missing one', async () => {
    await store.add('doomed', VALUE);
    await store.remove('doomed');
    assert.equal(await store.has('doomed'), false);
    await assert.rejects(store.remove('doomed'), isError('secret_not_found', "'doomed'", dir));
  });

  it('leaves no temporary files behind', async () => {
    const names = await readdir(dir);
    assert.deepEqual(
      names.filter((n) => n.startsWith('.tmp')),
      [],
    );
    for (const name of names.filter((n) => !n.startsWith('.'))) assert.match(name, /^[0-9a-f]{32}$/);
  });

  it('makes the folder 0700 and every file 0600', async () => {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const name of await readdir(dir)) {
      assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, name);
    }
  });

  it('refuses a wrong password, naming the store', async () => {
    await assert.rejects(LocalSecretStore.open(dir, 'wrong password'), isError('secrets_unavailable', 'wrong password', dir));
  });

  it('refuses an empty password to open and to init', async () => {
    await assert.rejects(LocalSecretStore.open(dir, ''), isError('secrets_unavailable', 'empty'));
    await assert.rejects(LocalSecretStore.init(join(dir, '..', 'other'), ''), isError('secrets_unavailable', 'empty'));
  });

  it('says how to make a store where there is none', async () => {
    const nowhere = join(dir, '..', 'nowhere');
    await assert.rejects(LocalSecretStore.open(nowhere, PASSWORD), isError('secrets_unavailable', nowhere, 'local-secret-store', 'init'));
  });

  it('refuses to init over an existing store or a folder with other files', async () => {
    await assert.rejects(LocalSecretStore.init(dir, PASSWORD), isError('secrets_unavailable', 'already exists', dir));
    const busy = join(dir, '..', 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'mine');
    await assert.rejects(LocalSecretStore.init(busy, PASSWORD), isError('secrets_unavailable', 'not empty'));
  });

  it('inits in an existing empty folder and tightens its mode', async () => {
    const empty = join(dir, '..', 'empty');
    await mkdir(empty, { mode: 0o755 });
    await LocalSecretStore.init(empty, PASSWORD);
    assert.equal((await stat(empty)).mode & 0o777, 0o700);
  });

  it('reports a secret file that does not decrypt, without its content', async () => {
    await writeFile(join(dir, secretFileName('damaged')), 'gAAAAAnotavalidtoken');
    await assert.rejects(store.get('damaged'), isError('secrets_unavailable', "'damaged'", 'cannot be decrypted'));
  });

  it('refuses an empty secret name', async () => {
    await assert.rejects(store.add('', VALUE), isError('invalid_request'));
  });
});

describe('expandStoreLocation', () => {
  it('expands a leading ~ to the home folder, as the default ~/.hydro_secrets needs', () => {
    assert.equal(expandStoreLocation('~/.hydro_secrets'), join(homedir(), '.hydro_secrets'));
    assert.equal(expandStoreLocation('~'), homedir());
    assert.equal(expandStoreLocation('/abs/path'), '/abs/path');
    assert.equal(expandStoreLocation('rel'), join(process.cwd(), 'rel'));
  });
});
