// What every start records on what it creates, besides the ownership labels: the digest of the
// spec (for PUT /process/{name} to tell an unchanged spec) and, when the spec has
// max_age_minutes, when the process expires (for the expiry sweeper, src/culler/expiry-sweeper.ts,
// of any server). The runtime is the only store; this is how both runtimes write and read it
// back. Pure.
import type { ProcessInfo } from '../spec/process-info.ts';
import type { ProcessSpec } from '../spec/process-spec.ts';
import { SPEC_DIGEST_PATTERN, specDigest } from '../spec/spec-digest.ts';

export interface StartRecord {
  /** sha256:<hex> of the validated spec. */
  specDigest: string;
  /** ISO 8601 (UTC, milliseconds): the start plus max_age_minutes; absent without one. */
  expiresAt?: string;
}

/** The keys a runtime keeps a record under: container labels (Docker) or Deployment annotations (Kubernetes). */
export interface RecordKeys {
  specDigest: string;
  expiresAt: string;
}

/** The record of a start at `now`. */
export function startRecord(spec: ProcessSpec, now: Date): StartRecord {
  const record: StartRecord = { specDigest: specDigest(spec) };
  if (spec.max_age_minutes !== undefined)
    record.expiresAt = new Date(now.getTime() + Math.round(spec.max_age_minutes * 60_000)).toISOString();
  return record;
}

/** The record as key/value pairs under `keys`. */
export function recordEntries(record: StartRecord, keys: RecordKeys): Record<string, string> {
  const out: Record<string, string> = { [keys.specDigest]: record.specDigest };
  if (record.expiresAt !== undefined) out[keys.expiresAt] = record.expiresAt;
  return out;
}

/**
 * What a container's labels or a Deployment's annotations say, as ProcessInfo fields. A value
 * that is not a digest or a time (set by hand, or by something else) counts as absent: no known
 * spec (a PUT replaces the process), no expiry.
 */
export function recordedFields(
  values: Readonly<Record<string, string>> | undefined,
  keys: RecordKeys,
): Pick<ProcessInfo, 'spec_digest' | 'expires'> {
  const out: Pick<ProcessInfo, 'spec_digest' | 'expires'> = {};
  const digest = values?.[keys.specDigest];
  if (digest !== undefined && SPEC_DIGEST_PATTERN.test(digest)) out.spec_digest = digest;
  const expires = values?.[keys.expiresAt];
  const ms = expires === undefined ? Number.NaN : Date.parse(expires);
  if (Number.isFinite(ms)) out.expires = new Date(ms).toISOString();
  return out;
}
