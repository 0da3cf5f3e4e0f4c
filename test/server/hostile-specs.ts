// Hostile process specs: bodies just under the server's 1 MB limit, each built to make validation
// do as much work, and say as much, as it can. Shared by the answer-size tests and the memory test.

/** What each spec is made to stay under: the default body limit, less room for the rest. */
export const BUDGET = 1024 * 1024 - 4096;

const base = (container: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  process_name: 'web',
  ...top,
  container: { image_uri: 'nginx', ...container },
});

/** As many items as fit in the budget, given each item's JSON size (plus its comma). */
function fill(itemBytes: number, reserve = 200): number {
  return Math.floor((BUDGET - reserve) / (itemBytes + 1));
}

/** A string with control characters, quotes and unicode through it, `bytes` long as JSON on the wire. */
function nasty(bytes: number): string {
  const piece = 'a\u0000\u001b[31m"\\\u2028é/';
  const pieceBytes = Buffer.byteLength(JSON.stringify(piece)) - 2;
  return piece.repeat(Math.floor(bytes / pieceBytes));
}

function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

export interface HostileSpec {
  what: string;
  body: string;
}

/** Each kind of hostile spec, as the JSON text sent. */
export function hostileSpecs(): HostileSpec[] {
  const specs: Array<{ what: string; body: string | object }> = [];
  // node_selector: 75,000 invalid keys, the outside tester's spec.
  {
    const n = fill(JSON.stringify({ '-7000': '' }).length - 2);
    const selector: Record<string, string> = {};
    for (let i = 0; i < n; i++) selector[`-${i.toString(36)}`] = '';
    specs.push({ what: `${n} invalid node_selector keys`, body: base({ node_selector: selector }) });
  }
  // node_selector: valid keys, invalid values.
  {
    const n = fill(JSON.stringify({ k0000: '!' }).length - 2);
    const selector: Record<string, string> = {};
    for (let i = 0; i < n; i++) selector[`k${i.toString(36)}`] = '!';
    specs.push({ what: `${n} node_selector labels with invalid values`, body: base({ node_selector: selector }) });
  }
  // env: 50,000 entries and more, each wrong in its own way.
  {
    const entry = { name: '1a', value: 1 };
    const n = fill(JSON.stringify(entry).length);
    specs.push({ what: `${n} invalid env entries`, body: base({ env: Array.from({ length: n }, () => entry) }) });
  }
  {
    const n = fill(JSON.stringify({ name: 'A0000', value: '' }).length);
    specs.push({
      what: `${n} valid env entries`,
      body: base({ env: Array.from({ length: n }, (_, i) => ({ name: `A${i.toString(36)}`, value: '' })) }),
    });
  }
  // Unknown fields: at the top level, in the container, in a port.
  {
    const n = fill('"f0000":0'.length);
    const top: Record<string, number> = {};
    for (let i = 0; i < n; i++) top[`f${i.toString(36)}`] = 0;
    specs.push({ what: `${n} unknown top-level fields`, body: base({}, top) });
  }
  {
    const n = fill('"f0000":0'.length);
    const extra: Record<string, number> = {};
    for (let i = 0; i < n; i++) extra[`f${i.toString(36)}`] = 0;
    specs.push({ what: `${n} unknown container fields`, body: base(extra) });
  }
  {
    const n = fill('"f0000":0'.length);
    const port: Record<string, number> = { container_port: 80 };
    for (let i = 0; i < n; i++) port[`f${i.toString(36)}`] = 0;
    specs.push({ what: `a port with ${n} unknown fields`, body: base({ ports: [port] }) });
  }
  // Unknown fields whose names are long and close to known ones: the "did you mean" work.
  {
    const name = (i: number) => `container_por${i.toString(36)}`;
    const n = fill(`"${name(99_999)}":0`.length);
    const port: Record<string, number> = { container_port: 80 };
    for (let i = 0; i < n; i++) port[name(i)] = 0;
    specs.push({ what: `a port with ${n} near-miss fields`, body: base({ ports: [port] }) });
  }
  // Very long strings, full of control characters.
  const long = BUDGET - 1000;
  // nasty(long) and '9'.repeat(long) are `long` bytes as JSON.
  specs.push({ what: 'a very long image_uri', body: base({ image_uri: nasty(long) }) });
  specs.push({ what: 'a very long process_name', body: base({}, { process_name: nasty(long) }) });
  specs.push({ what: 'a very long group', body: base({}, { group: nasty(long) }) });
  specs.push({ what: 'a very long env value', body: base({ env: [{ name: 'A', value: nasty(long) }] }) });
  specs.push({ what: 'a very long env name', body: base({ env: [{ name: nasty(long), value: 'x' }] }) });
  specs.push({ what: 'a very long command argument', body: base({ command: [nasty(long)] }) });
  specs.push({ what: 'a very long node_selector key', body: base({ node_selector: { [nasty(long)]: 'x' } }) });
  specs.push({ what: 'a very long node_selector prefix', body: base({ node_selector: { [`${'a'.repeat(long)}/x`]: 'x' } }) });
  specs.push({ what: 'a very long node_selector value', body: base({ node_selector: { a: nasty(long) } }) });
  specs.push({ what: 'a very long unknown field name', body: base({}, { [nasty(long)]: 1 }) });
  specs.push({ what: 'a very long secret name', body: base({ env: [{ name: 'A', value: { secret_name: nasty(long) } }] }) });
  specs.push({ what: 'a very long port name', body: base({ ports: [{ container_port: 80, name: nasty(long) }] }) });
  // Long runs that a pattern matches up to the last character, where backtracking would cost most.
  specs.push({ what: 'a very long image_uri of letters', body: base({ image_uri: `${'a'.repeat(long)}!` }) });
  specs.push({ what: 'a very long image_uri of path components', body: base({ image_uri: `${'a/'.repeat(long / 2)}!` }) });
  specs.push({ what: 'a very long env name of letters', body: base({ env: [{ name: `${'A'.repeat(long)}-`, value: 'x' }] }) });
  specs.push({ what: 'a very long label prefix of labels', body: base({ node_selector: { [`${'a.'.repeat(long / 2)}!/x`]: 'x' } }) });
  specs.push({ what: 'a very long numeric string that is not one', body: base({ ports: [{ container_port: `${'9'.repeat(long)}x` }] }) });
  specs.push({ what: 'a very long numeric string of spaces', body: base({ resource_limit: { cpu_vcpu: `1${' '.repeat(long)}x` } }) });
  specs.push({ what: 'a very long numeric string', body: base({ ports: [{ container_port: '9'.repeat(long) }] }) });
  // Every field of the wrong type, as many times as fits.
  {
    const port = { container_port: true, host_port: [], protocol: 7, name: {} };
    const n = fill(JSON.stringify(port).length);
    specs.push({ what: `${n} ports with every field of the wrong type`, body: base({ ports: Array.from({ length: n }, () => port) }) });
  }
  specs.push({ what: 'command: 500,000 numbers', body: base({ command: Array.from({ length: fill(1) }, () => 0) }) });
  {
    const entry = { name: 0, value: [] };
    const n = fill(JSON.stringify(entry).length);
    specs.push({
      what: 'every field of the wrong type',
      body: {
        process_name: 1,
        group: 2,
        has_public_ip: 'maybe',
        container: {
          image_uri: [],
          username: 3,
          password: 'x',
          ports: {},
          env: Array.from({ length: n }, () => entry),
          command: 'sh',
          resource_request: [],
          resource_limit: 'x',
          node_selector: [],
        },
      },
    });
  }
  // The most problems that stay within every limit: the cap on what is reported does the work.
  specs.push({
    what: 'the most problems within the limits',
    body: base({
      ports: Array.from({ length: 256 }, () => ({ container_port: 0, host_port: 'x', protocol: 'sctp', name: '--' })),
      env: Array.from({ length: 1024 }, () => ({ name: '1', value: 1 })),
      command: Array.from({ length: 4096 }, () => 0),
      node_selector: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`-${i}`, '-'])),
    }),
  });
  // The longest answer: every problem with as long a path and message as there can be.
  specs.push({
    what: 'the longest problems',
    body: base({
      node_selector: Object.fromEntries(
        Array.from({ length: 64 }, (_, i) => [`${'\u001b'.repeat(100)}${i}/${'\u2028'.repeat(100)}`, nasty(200)]),
      ),
    }),
  });
  specs.push({
    what: 'the longest label keys',
    body: base({ node_selector: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`${'\u001b'.repeat(100)}${i}`, nasty(200)])) }),
  });
  specs.push({
    what: 'the longest unknown fields',
    body: base(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`${'\u0007'.repeat(100)}${i}`, 0]))),
  });
  specs.push({
    what: 'the longest label values',
    body: base({
      node_selector: Object.fromEntries(
        Array.from({ length: 64 }, (_, i) => [
          `${'k'.repeat(62)}${i % 10}`.slice(-63).replace(/^k/, String.fromCharCode(97 + (i % 26))),
          '\u0000'.repeat(100),
        ]),
      ),
    }),
  });
  // Deep nesting, where the schema expects a value and where it expects nothing.
  const depth = Math.floor((BUDGET - 1000) / 2);
  specs.push({
    what: 'a deeply nested env value',
    body: JSON.stringify(base({ env: [{ name: 'A', value: 0 }] })).replace('"value":0', `"value":${nestedArrays(depth / 2)}`),
  });
  specs.push({
    what: 'a deeply nested unknown field',
    body: JSON.stringify(base({}, { extra: 0 })).replace('"extra":0', `"extra":${nestedArrays(depth / 2)}`),
  });
  specs.push({
    what: 'deeply nested objects in the command',
    body: JSON.stringify(base({ command: 0 })).replace('"command":0', `"command":[${'{"a":'.repeat(depth / 6)}1${'}'.repeat(depth / 6)}]`),
  });
  return specs.map(({ what, body }) => ({ what, body: typeof body === 'string' ? body : JSON.stringify(body) }));
}
