// What a start reads from the secret store, before it creates anything: the values of the secret
// env vars, and the registry login for the pull of the image. A missing secret must fail the start
// with nothing created, so every read is settled here, at once, before the first Engine call.
import type { SecretStore } from '../../secrets/secret-store.ts';
import { readSecret } from '../../secrets/resolve.ts';
import { type ProcessSpec, isProcessSecret } from '../../spec/process-spec.ts';
import { registryServerAddress } from '../../spec/image-reference.ts';
import type { RegistryAuth } from './engine-client.ts';

export interface StartSecrets {
  /** Env var name -> its value, for the env vars whose value is a secret. */
  secretEnv: Map<string, string>;
  /** The login for the image's registry; undefined when the spec gives no username. */
  auth: RegistryAuth | undefined;
}

/** Reads every secret that `spec` names; throws the first failure once all reads have settled. */
export async function readStartSecrets(store: SecretStore, spec: ProcessSpec): Promise<StartSecrets> {
  const { container } = spec;
  const secretEnv = new Map<string, string>();
  const envReads = container.env.flatMap(({ name, value }) =>
    isProcessSecret(value) ? [readSecret(store, value).then((v) => void secretEnv.set(name, v))] : [],
  );
  const username =
    container.username === undefined
      ? undefined
      : typeof container.username === 'string'
        ? container.username
        : readSecret(store, container.username);
  const password = container.password === undefined ? undefined : readSecret(store, container.password);
  // Settle every read before failing, so that no read is left running behind a thrown error.
  const settled = await Promise.allSettled([...envReads, Promise.resolve(username), Promise.resolve(password)]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (username === undefined) return { secretEnv, auth: undefined };
  return {
    secretEnv,
    auth: { username: await username, password: (await password) ?? '', serveraddress: registryServerAddress(container.image_uri) },
  };
}
