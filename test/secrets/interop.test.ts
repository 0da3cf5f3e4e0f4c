// Our store against implementations of the format that are not ours: a bash script over the
// openssl command line (always), and Python's cryptography, the original's own library (when this
// machine has it).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { LocalSecretStore, secretFileName } from '../../src/secrets/local-secret-store.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./fixtures/openssl-store.sh', import.meta.url));
const root = await tempDir();

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const opensslKdf = works('openssl', [
  'kdf',
  '-keylen',
  '32',
  '-kdfopt',
  'digest:SHA256',
  '-kdfopt',
  'pass:x',
  '-kdfopt',
  'salt:y',
  '-kdfopt',
  'iter:1',
  'PBKDF2',
]);
const pythonFernet = works('python3', ['-c', 'import cryptography.fernet']);

const PASSWORD = 'pässwörd with spaces & $ymbols';
const CASES: [name: string, value: string][] = [
  ['plain', 'hunter2'],
  ['json/with slash', '{"username": "ädmin", "password": "p@ss\\"word"}'],
  ['block-sized', 'x'.repeat(16)],
  ['trailing newline', 'line one\nline two\n'],
];

async function openssl(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  return stdout;
}

describe(
  'interop with an openssl implementation of the format',
  { skip: opensslKdf ? false : 'openssl has no kdf command (OpenSSL 3 is needed)' },
  () => {
    for (const [index, [name, value]] of CASES.entries()) {
      it(`opens a store that openssl made and reads ${JSON.stringify(name)}`, async () => {
        const dir = join(root, `from-openssl-${index}`);
        await openssl('make', dir, PASSWORD, name, value);
        const store = await LocalSecretStore.open(dir, PASSWORD);
        assert.equal(await store.get(name), value);
      });
    }

    it('reads one key of a JSON secret that openssl wrote', async () => {
      const dir = join(root, 'from-openssl-json');
      await openssl('make', dir, PASSWORD, 'creds', '{"user": "u1", "token": "t1"}');
      assert.equal(await (await LocalSecretStore.open(dir, PASSWORD)).get('creds', 'token'), 't1');
    });

    it('refuses the wrong password on a store that openssl made', async () => {
      const dir = join(root, 'from-openssl-wrong');
      await openssl('make', dir, PASSWORD, 'n', 'v');
      await assert.rejects(
        LocalSecretStore.open(dir, 'not it'),
        (err: unknown) => err instanceof HydroplaneError && err.code === 'secrets_unavailable' && /wrong password/.test(err.message),
      );
    });

    it('writes a store whose sentinel and secrets openssl verifies and decrypts', async () => {
      const dir = join(root, 'to-openssl');
      const store = await LocalSecretStore.init(dir, PASSWORD);
      for (const [name, value] of CASES) {
        await store.add(name, value);
        assert.equal(await openssl('read', dir, PASSWORD, name), value);
      }
    });

    it('is caught by openssl when a token we wrote is altered, or the password is wrong', async () => {
      const dir = join(root, 'to-openssl-tampered');
      const store = await LocalSecretStore.init(dir, PASSWORD);
      await store.add('n', 'value');
      await assert.rejects(openssl('read', dir, 'not it', 'n'), (err: { code?: number }) => err.code === 3);
      const file = join(dir, secretFileName('n'));
      const token = await readFile(file, 'ascii');
      await writeFile(file, token.slice(0, 30) + (token[30] === 'A' ? 'B' : 'A') + token.slice(31));
      await assert.rejects(openssl('read', dir, PASSWORD, 'n'), (err: { code?: number }) => err.code === 4);
    });
  },
);

// The original's own code path, in a few lines: PBKDF2HMAC + Fernet from `cryptography`.
const PYTHON = `
import base64, hashlib, os, sys, uuid
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
verb, d, pw, name = sys.argv[1:5]
def fernet():
    salt = open(os.path.join(d, '.salt'), 'rb').read()
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=390000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(pw.encode('utf-8'))))
path = os.path.join(d, hashlib.md5(name.encode('utf-8')).hexdigest())
if verb == 'make':
    os.makedirs(d)
    open(os.path.join(d, '.salt'), 'wb').write(os.urandom(16))
    f = fernet()
    open(os.path.join(d, '.sentinel'), 'wb').write(f.encrypt(f"It's a secret to everybody {uuid.uuid4().hex}".encode('utf-8')))
    open(path, 'wb').write(f.encrypt(sys.argv[5].encode('utf-8')))
else:
    f = fernet()
    assert f.decrypt(open(os.path.join(d, '.sentinel'), 'rb').read()).decode('utf-8').startswith("It's a secret to everybody")
    sys.stdout.write(f.decrypt(open(path, 'rb').read()).decode('utf-8'))
`;

describe(
  "interop with Python's cryptography, the original's library",
  { skip: pythonFernet ? false : 'python3 with cryptography is not installed' },
  () => {
    it('opens a store made the way the original makes it', async () => {
      const dir = join(root, 'from-python');
      await run('python3', ['-c', PYTHON, 'make', dir, PASSWORD, 'db', '{"password": "pw1"}']);
      const store = await LocalSecretStore.open(dir, PASSWORD);
      assert.equal(await store.get('db', 'password'), 'pw1');
    });

    it('writes a store that the original reads', async () => {
      const dir = join(root, 'to-python');
      const store = await LocalSecretStore.init(dir, PASSWORD);
      await store.add('db', 'value ✓\n');
      const { stdout } = await run('python3', ['-c', PYTHON, 'read', dir, PASSWORD, 'db'], { encoding: 'utf8' });
      assert.equal(stdout, 'value ✓\n');
    });
  },
);
