// Name rules that every runtime accepts. A process name becomes a Docker container name, a
// Kubernetes Deployment name and a Service name; the strictest of these is the Service, a
// DNS-1035 label. A group becomes a label value on every runtime.
// Rules: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
import { shown } from './shown.ts';

/**
 * A name that some runtime can hold, as a path or query names it: the union of Docker's
 * container-name rule ([a-zA-Z0-9][a-zA-Z0-9_.-]+) and a Kubernetes DNS-1123 subdomain (at most
 * 253, may be one character). Processes launched by older servers keep names of either kind.
 */
export const STORED_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const STORED_NAME_MAX = 253;

/** A host as a Host header names it: a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
export const HOST_AND_PORT =
  /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*)(:\d{1,5})?$/;

/** DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending alphanumeric. */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX = 63;

/** A Kubernetes label value (non-empty here): alphanumeric at both ends, '-', '_' and '.' inside. */
export const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const LABEL_VALUE_MAX = 63;

/** A label key's name part; the optional prefix is a DNS-1123 subdomain. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes port names are IANA service names: at most 15, lowercase alphanumeric and '-', one letter at least. */
export const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const PORT_NAME_MAX = 15;

/** A POSIX shell variable name, which every runtime and every program's getenv accepts. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns what is wrong with a label key (which the problem's path names), or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_1123_SUBDOMAIN.test(prefix))) {
    return `label key prefix '${shown(prefix)}' must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)`;
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return "label key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, after an optional 'prefix/'";
  }
  return undefined;
}

/** Returns what is wrong with a label value, or undefined when it is valid (empty is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > LABEL_VALUE_MAX || !LABEL_VALUE.test(value)) {
    return `label value '${shown(value)}' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

// An image reference as Docker's distribution/reference grammar defines it:
// [domain[:port]/]path-component(/path-component)*[:tag][@digest]
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
export const IMAGE_REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);
