// The original Hydroplane's password-protected store: a folder of Fernet tokens, one file per
// secret, named by the MD5 of the secret's name. The format is fixed by the compatibility
// contract (a store made by the original opens here, and the reverse), so nothing here may change
// a byte of it: not the iteration count, not the file names, not the sentinel phrase.
import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HydroplaneError } from '../errors.ts';
import { Fernet, InvalidFernetToken } from './fernet.ts';
import { secretField, type SecretStore } from './secret-store.ts';

export const DEFAULT_STORE_LOCATION = '~/.hydro_secrets';

const SALT_FILE = '.salt';
const SENTINEL_FILE = '.sentinel';
const SALT_BYTES = 16;
const KDF_ITERATIONS = 390_000;
const KEY_BYTES = 32;
// The original writes the phrase, a space and a UUID, and checks only the phrase.
const SENTINEL_PHRASE = "It's a secret to everybody";
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

const pbkdf2Async = promisify(pbkdf2);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `~` and `~/...` are the user's home, as the original's Path.expanduser() reads them. */
export function expandStoreLocation(location: string): string {
  if (location === '~') return homedir();
  if (location.startsWith('~/')) return join(homedir(), location.slice(2));
  return resolve(location);
}

/** The file that holds a secret: the lowercase hex MD5 of its UTF-8 name. */
export function secretFileName(name: string): string {
  return createHash('md5').update(name, 'utf8').digest('hex');
}

export class LocalSecretStore implements SecretStore {
  readonly type = 'local';
  /** The store's folder, absolute, with `~` expanded. */
  readonly location: string;
  readonly #fernet: Fernet;

  private constructor(location: string, fernet: Fernet) {
    this.location = location;
    this.#fernet = fernet;
  }

  /** Makes a new store. Refuses an empty password and a folder that already holds anything. */
  static async init(location: string, password: string): Promise<LocalSecretStore> {
    refuseEmptyPassword(password);
    const dir = expandStoreLocation(location);

    try {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      const present = await readdir(dir);
      if (present.includes(SALT_FILE) || present.includes(SENTINEL_FILE)) {
        throw new HydroplaneError('secrets_unavailable', `a local secret store already exists at ${dir}`);
      }
      if (present.length > 0) {
        throw new HydroplaneError(
          'secrets_unavailable',
          `cannot make a local secret store at ${dir}: the folder is not empty. Choose an empty or new folder.`,
        );
      }
      // mkdir leaves an existing folder's mode alone and the umask may have cut bits.
      await chmod(dir, DIR_MODE);
    } catch (err) {
      throw asStoreError(err, `cannot make a local secret store at ${dir}`);
    }

    const salt = randomBytes(SALT_BYTES);
    const fernet = new Fernet(await deriveKey(password, salt));
    const sentinel = fernet.encrypt(`${SENTINEL_PHRASE} ${randomBytes(16).toString('hex')}`);
    try {
      // The sentinel goes last: a store without it is not a store, so a crash here leaves nothing usable half-made.
      await writeAtomic(dir, SALT_FILE, salt, { overwrite: false });
      await writeAtomic(dir, SENTINEL_FILE, Buffer.from(sentinel, 'ascii'), { overwrite: false });
    } catch (err) {
      throw asStoreError(err, `cannot make a local secret store at ${dir}`);
    }
    return new LocalSecretStore(dir, fernet);
  }

  /**
   * Throws, as open() would, when there is no store at `location` (or it is damaged), so that
   * nobody is asked for the password of a store that is not there.
   */
  static async mustExist(location: string): Promise<void> {
    const dir = expandStoreLocation(location);
    await readStoreFile(dir, SALT_FILE);
    await readStoreFile(dir, SENTINEL_FILE);
  }

  /** Opens an existing store, checking the password against its sentinel. */
  static async open(location: string, password: string): Promise<LocalSecretStore> {
    refuseEmptyPassword(password);
    const dir = expandStoreLocation(location);
    const salt = await readStoreFile(dir, SALT_FILE);
    const sentinel = await readStoreFile(dir, SENTINEL_FILE);

    const fernet = new Fernet(await deriveKey(password, salt));
    let text: string | undefined;
    try {
      text = utf8.decode(fernet.decrypt(sentinel));
    } catch (err) {
      if (!(err instanceof InvalidFernetToken) && !(err instanceof TypeError)) throw err;
    }
    if (text === undefined || !text.startsWith(SENTINEL_PHRASE)) {
      throw new HydroplaneError(
        'secrets_unavailable',
        `wrong password for the local secret store at ${dir} (it is not the password the store was made with)`,
      );
    }
    return new LocalSecretStore(dir, fernet);
  }

  async get(name: string, key?: string): Promise<string> {
    const value = await this.#read(name);
    return key === undefined ? value : secretField(name, value, key);
  }

  async has(name: string): Promise<boolean> {
    try {
      await stat(this.#path(name));
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw asStoreError(err, `cannot look for secret '${name}' in the local secret store at ${this.location}`);
    }
  }

  /** Adds a secret; an existing one is replaced only with `overwrite`. */
  async add(name: string, value: string, options: { overwrite?: boolean } = {}): Promise<void> {
    if (name.length === 0) throw new HydroplaneError('invalid_request', 'a secret name may not be empty');
    const token = this.#fernet.encrypt(value);
    let created: boolean;
    try {
      created = await writeAtomic(this.location, secretFileName(name), Buffer.from(token, 'ascii'), {
        overwrite: options.overwrite === true,
      });
    } catch (err) {
      throw asStoreError(err, `cannot write secret '${name}' to the local secret store at ${this.location}`);
    }
    if (!created) {
      throw new HydroplaneError(
        'invalid_request',
        `secret '${name}' already exists in the local secret store at ${this.location}; add --overwrite to replace it`,
      );
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await rm(this.#path(name));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw this.#notFound(name);
      throw asStoreError(err, `cannot remove secret '${name}' from the local secret store at ${this.location}`);
    }
  }

  async #read(name: string): Promise<string> {
    let token: Buffer;
    try {
      token = await readFile(this.#path(name));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw this.#notFound(name);
      throw asStoreError(err, `cannot read secret '${name}' from the local secret store at ${this.location}`);
    }
    try {
      return utf8.decode(this.#fernet.decrypt(token));
    } catch (err) {
      if (!(err instanceof InvalidFernetToken) && !(err instanceof TypeError)) throw err;
      throw new HydroplaneError(
        'secrets_unavailable',
        `secret '${name}' in the local secret store at ${this.location} cannot be decrypted: ` +
          'its file is damaged or was written with another password',
      );
    }
  }

  #path(name: string): string {
    return join(this.location, secretFileName(name));
  }

  #notFound(name: string): HydroplaneError {
    return new HydroplaneError('secret_not_found', `secret '${name}' not found in the local secret store at ${this.location}`);
  }
}

function refuseEmptyPassword(password: string): void {
  if (password.length === 0) {
    throw new HydroplaneError('secrets_unavailable', 'the secret store password is empty; an empty password is not allowed');
  }
}

async function deriveKey(password: string, salt: Buffer): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, KDF_ITERATIONS, KEY_BYTES, 'sha256');
}

async function readStoreFile(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, file));
  } catch (err) {
    if ((errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') && file === SALT_FILE) {
      throw new HydroplaneError(
        'secrets_unavailable',
        `no local secret store at ${dir}: make one with 'local-secret-store --store_location ${dir} init'`,
      );
    }
    if (errnoOf(err) === 'ENOENT') {
      throw new HydroplaneError(
        'secrets_unavailable',
        `the local secret store at ${dir} has a ${SALT_FILE} but no ${file} file: it is damaged or its init was interrupted`,
      );
    }
    throw asStoreError(err, `cannot open the local secret store at ${dir}`);
  }
}

/**
 * Writes `file` in `dir` through a temporary file and a rename, so that a reader or a crash sees
 * the old content or the new, never half of it. Without `overwrite` the final step is a hard link,
 * which fails when the name exists; returns false then.
 */
async function writeAtomic(dir: string, file: string, data: Uint8Array, options: { overwrite: boolean }): Promise<boolean> {
  const temp = join(dir, `.tmp-${file}-${randomBytes(6).toString('hex')}`);
  const target = join(dir, file);
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, FILE_MODE);
  try {
    try {
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite) {
      await rename(temp, target);
      return true;
    }
    try {
      await link(temp, target);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      // Some file systems have no hard links; fall back to a check, with its small race.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errnoOf(err) ?? '')) throw err;
      if (await exists(target)) return false;
      await rename(temp, target);
      return true;
    }
  } finally {
    await rm(temp, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function asStoreError(err: unknown, what: string): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new HydroplaneError('secrets_unavailable', `${what}: ${reason}`, { cause: err });
}
