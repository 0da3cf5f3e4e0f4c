// A secret store held in memory, for tests that need secrets without a store on disk.
import { HydroplaneError } from '../../src/errors.ts';
import { type SecretStore, secretField } from '../../src/secrets/secret-store.ts';

export class MemorySecretStore implements SecretStore {
  readonly type = 'memory';
  readonly #secrets: Map<string, string>;
  /** Names read so far, in order. */
  readonly reads: string[] = [];

  constructor(secrets: Record<string, string> = {}) {
    this.#secrets = new Map(Object.entries(secrets));
  }

  async get(name: string, key?: string): Promise<string> {
    this.reads.push(name);
    const value = this.#secrets.get(name);
    if (value === undefined) throw new HydroplaneError('secret_not_found', `no secret named '${name}'`);
    return key === undefined ? value : secretField(name, value, key);
  }
}
