import type { SecretStoreConfig } from '../config/schema.ts';
import { NoneSecretStore } from './none-secret-store.ts';
import type { SecretStore } from './secret-store.ts';

export type { SecretStore } from './secret-store.ts';
export { NoneSecretStore } from './none-secret-store.ts';

/** Where a store's password comes from: the environment, a prompt, a test. Asked only when needed. */
export type PasswordProvider = () => Promise<string>;

/**
 * The configured store, ready to read. A local store is opened (and its password checked) here,
 * so a wrong password stops the server at start-up rather than at the first spec with a secret.
 */
export async function openSecretStore(config: SecretStoreConfig, password: PasswordProvider): Promise<SecretStore> {
  switch (config.secret_store_type) {
    case 'none':
      return new NoneSecretStore();
    case 'local': {
      // Loaded only when configured, as the runtimes are: it brings node:crypto, which a server
      // without a secret store does not otherwise load at its start.
      const { LocalSecretStore } = await import('./local-secret-store.ts');
      await LocalSecretStore.mustExist(config.store_location);
      return LocalSecretStore.open(config.store_location, await password());
    }
    default: {
      const unknown: never = config;
      throw new Error(`unknown secret store type: ${JSON.stringify(unknown)}`);
    }
  }
}
