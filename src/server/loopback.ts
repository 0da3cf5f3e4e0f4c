// Which host names only ever reach this machine: the listen address that may go without an API
// token, and the Host header that a token-less server answers.

/** localhost, any 127.0.0.0/8 address, ::1 (bare or in brackets). */
export function isLoopbackHost(name: string): boolean {
  if (name === 'localhost' || name === '::1' || name === '[::1]') return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return v4 !== null && v4.slice(1).every((octet) => Number(octet) <= 255);
}
