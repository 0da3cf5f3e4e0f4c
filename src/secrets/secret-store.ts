// Where credentials come from, so that none travels in clear text in a spec or a config.
import { HydroplaneError } from '../errors.ts';

export interface SecretStore {
  /** 'none' or 'local'; named in error messages. */
  readonly type: string;
  /**
   * The secret's value; with `key`, one field of a secret whose value is a JSON object.
   * Throws a HydroplaneError: secret_not_found (no such secret or key) or secrets_unavailable.
   * Implementations never put a secret's value in an error message.
   */
  get(name: string, key?: string): Promise<string>;
}

/** Reads `key` of a JSON object secret; the secret's value never appears in the error. */
export function secretField(name: string, value: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new HydroplaneError('secret_not_found', `secret '${name}' is not a JSON object, so it has no key '${key}'`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HydroplaneError('secret_not_found', `secret '${name}' is not a JSON object, so it has no key '${key}'`);
  }
  if (!Object.hasOwn(parsed, key)) {
    throw new HydroplaneError('secret_not_found', `secret '${name}' has no key '${key}'`);
  }
  const field = (parsed as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : JSON.stringify(field);
}
