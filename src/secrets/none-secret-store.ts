import { HydroplaneError } from '../errors.ts';
import type { SecretStore } from './secret-store.ts';

/** The store of a server configured without secrets: it refuses every request, saying how to get one. */
export class NoneSecretStore implements SecretStore {
  readonly type = 'none';

  get(name: string): Promise<string> {
    return Promise.reject(
      new HydroplaneError(
        'secrets_unavailable',
        `secret '${name}' was requested, but this server's secret store is 'none'. ` +
          'Configure a store (secret_store: {secret_store_type: local, store_location: ~/.hydro_secrets}), ' +
          "add the secret with 'local-secret-store add', and restart the server.",
      ),
    );
  }
}
