// The digest of a process spec: what PUT /process/{name} compares to tell "the same spec" from a
// changed one. Every start records it on what it creates (a container label, a Deployment
// annotation), so the runtime, not the server, remembers which spec a process was started from.
//
// It is a sha256 over a canonical JSON of the spec after validation: defaults filled in and
// numeric strings turned into numbers (so `"ports": []` and no ports, or "80" and 80, are the
// same), object keys sorted at every depth, and null left out like an absent field (the spec has
// no field where null means anything else). Arrays keep their order: ports, env and command in
// another order are another spec. A secret is its reference ({secret_name, key}); its value is
// never read, so a changed secret value does not change the digest. Pure.
import type { ProcessSpec } from './process-spec.ts';

/** How a digest is written: `sha256:` and 64 lowercase hex digits, as OCI writes image digests. */
export const SPEC_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The digest of a validated spec, as `sha256:<hex>`. */
export function specDigest(spec: ProcessSpec): string {
  // node:crypto at the first digest rather than at the server's start (as in server/auth.ts).
  const { createHash } = process.getBuiltinModule('node:crypto');
  return `sha256:${createHash('sha256').update(canonicalJson(spec), 'utf8').digest('hex')}`;
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as Array.prototype.sort does) at every
 * depth, no whitespace, and null and undefined members left out. Numbers as JSON.stringify writes
 * them (the shortest text that reads back as the same number).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined && (value as Record<string, unknown>)[key] !== null)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`cannot digest the number ${value}`);
  return JSON.stringify(value);
}
