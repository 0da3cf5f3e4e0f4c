// An address as messages and logs may show it: the password of a URL's user part hidden, so that
// a mistyped -s or docker_host never puts one on a terminal or in a log.

/**
 * `address` with the password of its user part, if it has one, shown as ***. As URL parsing reads
 * it: the user part ends at the last @ before the path, and the password starts at its first colon.
 */
export function withoutPassword(address: string): string {
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(address)?.[0].length ?? 0;
  const pathAt = address.slice(start).search(/[/\\?#]/);
  const at = address.lastIndexOf('@', pathAt === -1 ? address.length : start + pathAt);
  const colon = address.indexOf(':', start);
  return at > start && colon !== -1 && colon < at ? `${address.slice(0, colon + 1)}***${address.slice(at)}` : address;
}
