// The labels that mark what Hydroplane owns, on every runtime. The runtime is Hydroplane's only
// store: these exact keys let a server list, stop and cull what another server (or the original
// Python Hydroplane) launched, and never touch anything without them.
export const PROCESS_LABEL = 'hydroplane/process-id';
export const GROUP_LABEL = 'hydroplane/group-id';

export function labelsFor(processName: string, group: string | null | undefined): Record<string, string> {
  return group ? { [PROCESS_LABEL]: processName, [GROUP_LABEL]: group } : { [PROCESS_LABEL]: processName };
}

/** Kubernetes label selector syntax: "key", "key=value". */
export function labelSelector(filter: { processName?: string; group?: string }): string {
  const parts = [filter.processName === undefined ? PROCESS_LABEL : `${PROCESS_LABEL}=${filter.processName}`];
  if (filter.group !== undefined) parts.push(`${GROUP_LABEL}=${filter.group}`);
  return parts.join(',');
}

/** Docker label filter syntax: ["key", "key=value"]. */
export function dockerLabelFilter(filter: { processName?: string; group?: string }): string[] {
  return labelSelector(filter).split(',');
}

// What a start records besides ownership (src/runtimes/start-record.ts). Docker keeps them as
// container labels; Kubernetes as annotations on the Deployment, since a label value can hold
// neither a sha256 hex (64 characters, the limit is 63) nor an ISO time (':' is not allowed).
// Absent on what older servers and the original launched: such a process has no known spec and
// never expires on its own.
export const SPEC_DIGEST_LABEL = 'hydroplane/spec-digest';
export const EXPIRES_AT_LABEL = 'hydroplane/expires-at';
export const SPEC_DIGEST_ANNOTATION = 'hydroplane/spec-digest';
export const EXPIRES_AT_ANNOTATION = 'hydroplane/expires-at';
