// What an image reference names, read as Docker's distribution/reference package reads it:
// [domain[:port]/]path[:tag][@digest], where the first component is a domain only when it has
// a '.' or a ':', is 'localhost', or has an uppercase letter; otherwise the image is on Docker Hub.
// Pure; both runtimes use it to know which registry a login is for.

/** The key under which Docker Hub credentials go, as the docker CLI sends them. */
export const DOCKER_HUB_AUTH_ADDRESS = 'https://index.docker.io/v1/';

export interface ImageReference {
  /** The registry host, undefined for Docker Hub. */
  domain: string | undefined;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseImageReference(uri: string): ImageReference {
  const at = uri.indexOf('@');
  const digest = at >= 0 ? uri.slice(at + 1) : undefined;
  const named = at >= 0 ? uri.slice(0, at) : uri;
  const slash = named.indexOf('/');
  const first = slash >= 0 ? named.slice(0, slash) : '';
  const domain =
    slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())
      ? first
      : undefined;
  const rest = domain === undefined ? named : named.slice(slash + 1);
  const colon = rest.lastIndexOf(':');
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  return { domain, tag, digest };
}

/** The registry that the credentials are for: the image's host, or Docker Hub's. */
export function registryServerAddress(uri: string): string {
  return parseImageReference(uri).domain ?? DOCKER_HUB_AUTH_ADDRESS;
}
