// What an API token may hold, for the server that checks it and the clients that send it: what an
// Authorization header carries the same way from every client. A line break cannot be sent at all
// (fetch refuses it, and it would end the header), and a letter outside ASCII goes as UTF-8 from
// curl but as Latin-1 from Node's fetch, so one of them would never match.

/** Why `token` cannot be an API token, in words that follow "the API token from X", or undefined. */
export function tokenProblem(token: string): string | undefined {
  const bad = /[^\x20-\x7e]/u.exec(token);
  if (bad === null) return undefined;
  const code = bad[0].codePointAt(0)!;
  const what =
    bad[0] === '\n' || bad[0] === '\r'
      ? 'a line break'
      : code < 0x20 || code === 0x7f
        ? 'a control character'
        : 'a character outside ASCII';
  return `holds ${what} (character ${bad.index + 1}), which an HTTP header does not carry the same way from every client: an API token is printable ASCII`;
}
