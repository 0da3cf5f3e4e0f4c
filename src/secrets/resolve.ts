// Reading the value that a secret reference names. Every caller goes through here, so a secret is
// trimmed, refused when empty and reported when missing in one way, and a store that fails in an
// unexpected way never leaks its error's text (which might hold the value) to a client.
import { HydroplaneError } from '../errors.ts';
import type { SecretStore } from './secret-store.ts';

/** A secret store entry, or one key of a JSON object entry: the shape of SecretRef and ProcessSecret. */
export interface SecretReference {
  secret_name: string;
  key?: string | undefined;
}

function described(ref: SecretReference): string {
  return ref.key === undefined ? `secret '${ref.secret_name}'` : `key '${ref.key}' of secret '${ref.secret_name}'`;
}

/**
 * A value for a process (an environment variable, a registry login), exactly as stored. Throws
 * the store's own catalogue errors (secret_not_found, secrets_unavailable); anything else the store
 * throws becomes secrets_unavailable, with the original kept only as the cause.
 */
export async function readSecret(store: SecretStore, ref: SecretReference): Promise<string> {
  try {
    return await store.get(ref.secret_name, ref.key);
  } catch (err) {
    if (err instanceof HydroplaneError) throw err;
    throw new HydroplaneError('secrets_unavailable', `the ${store.type} secret store could not read ${described(ref)}`, { cause: err });
  }
}

/**
 * A value for the server's own configuration (the API token, cloud credentials), read at start-up:
 * trimmed of the newline a file or an `echo` leaves, and never empty. A secret that the store does
 * not have is a mistake in the config, so it is invalid_config naming `field` (e.g.
 * 'runtime.access_key_id'), and the server does not start.
 */
export async function readConfigSecret(store: SecretStore, ref: SecretReference, field: string): Promise<string> {
  let value: string;
  try {
    value = await readSecret(store, ref);
  } catch (err) {
    if (err instanceof HydroplaneError && err.code === 'secret_not_found') {
      throw new HydroplaneError(
        'invalid_config',
        `${field} names the ${described(ref)}, which the ${store.type} secret store cannot give: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  const trimmed = value.trim();
  if (trimmed === '') throw new HydroplaneError('invalid_config', `${field}: ${described(ref)} is empty`);
  return trimmed;
}
