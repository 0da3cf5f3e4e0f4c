// Control characters from labels, the Engine or a hostile server never reach the terminal raw:
// hpctl, against a stand-in server that answers generated hostile strings in every field of a
// process's info and in its error bodies, prints them escaped (and JSON that parses back to them).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { main } from '../../src/cli/hpctl.ts';
import { escapeText, safeJson } from '../../src/cli/terminal-text.ts';
import { skipOrFail, unbuilt } from '../support/needs.ts';
import { ROOT } from '../support/server-process.ts';

/**
 * What must never be printed raw: C0 controls but the newline, DEL, C1 controls, the bidi
 * embeddings, overrides, isolates and marks, the line and paragraph separators, lone surrogates.
 * Written out here rather than taken from the code under test.
 */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|\p{Cs}/u;

function assertNoRawControls(text: string, what: string): void {
  const found = RAW_CONTROL.exec(text);
  assert.equal(
    found,
    null,
    `${what} has a raw U+${found?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${found?.index}: ${JSON.stringify(text)}`,
  );
}

/** Reads back escaped text: \\ \n \r \t \xHH \uHHHH \u{H...}; any other backslash is a failure. */
function unescape(text: string): string {
  return text.replace(/\\(\\|n|r|t|x[0-9a-f]{2}|u\{[0-9a-f]+\}|u[0-9a-f]{4}|[^]?)/g, (_, seq: string) => {
    if (seq === '\\') return '\\';
    if (seq === 'n') return '\n';
    if (seq === 'r') return '\r';
    if (seq === 't') return '\t';
    if (seq.startsWith('x')) return String.fromCharCode(parseInt(seq.slice(1), 16));
    if (seq.startsWith('u{')) return String.fromCodePoint(parseInt(seq.slice(2, -1), 16));
    if (seq.startsWith('u') && seq.length === 5) return String.fromCharCode(parseInt(seq.slice(1), 16));
    throw new Error(`not an escape: \\${seq} in ${JSON.stringify(text)}`);
  });
}

const range = (from: number, to: number) => fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
/** One character (or a short sequence) of each class, with the plain ones that make text of them. */
const hostileUnit = fc.oneof(
  range(0x00, 0x1f), // C0: ESC, BEL, backspace, CR, newline, tab...
  fc.constantFrom('\n', '\r\n', '\t'), // lines and columns, often: they would break the layout
  fc.constant('\x7f'), // DEL
  range(0x80, 0x9f), // C1: U+009B is a one-character CSI
  fc.constantFrom('\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'),
  fc.constantFrom('\u2028', '\u2029', '\u200b', '\ufeff', '\u00ad', '\u200d'),
  range(0xd800, 0xdfff), // a lone surrogate, or half of a pair by chance
  fc.constantFrom('\x1b[2J', '\x1b]0;owned\x07', '\u009b31m', '\\', '\\x1b', '\\u202e', '\\\\n', ' ', '-', ':', '[', ']'),
  fc.string({ unit: 'grapheme', maxLength: 3 }), // unicode: accents, emoji, CJK, astral
  fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
);
const hostile = fc.string({ unit: hostileUnit, maxLength: 12 });

const processInfo = fc.record(
  {
    process_name: hostile,
    group: fc.option(hostile),
    socket_addresses: fc.array(
      fc.record({ host: hostile, port: fc.integer({ min: 0, max: 65535 }), is_public: fc.boolean() }, { noNullPrototype: true }),
      { maxLength: 2 },
    ),
    created: fc.oneof(
      hostile,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
    status: fc.oneof(fc.constantFrom('STARTING', 'RUNNING', 'EXITED', 'FAILED'), hostile),
    exit_code: fc.option(fc.integer({ min: -1, max: 255 })),
    reason: hostile,
  },
  { requiredKeys: ['process_name', 'group', 'socket_addresses', 'created', 'status'], noNullPrototype: true },
);
type Info = {
  process_name: string;
  group: string | null;
  socket_addresses: { host: string; port: number; is_public: boolean }[];
  created: string;
  status: string;
  exit_code?: number | null;
  reason?: string;
};

/** The cells a table row must show for `p`, before escaping (the AGE column aside). */
function expectedCells(p: Info): string[] {
  return [
    p.process_name,
    p.group ?? '-',
    p.status === 'EXITED' && p.exit_code != null ? `EXITED(${p.exit_code})` : p.status,
    p.socket_addresses.length === 0
      ? '-'
      : p.socket_addresses.map((a) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`).join(','),
  ];
}

/** Checks that every row is one line whose columns start where the header's do, and reads back to `list`. */
function assertTable(text: string, list: Info[]): void {
  assertNoRawControls(text, 'the table');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, list.length + 1, `one line a process:\n${text}`);
  const header = lines[0]!;
  const starts = ['NAME', 'GROUP', 'STATUS', 'ADDRESSES', 'AGE'].map((h) => header.indexOf(h));
  assert.equal(starts[0], 0, text);
  list.forEach((p, row) => {
    const line = lines[row + 1]!;
    expectedCells(p).forEach((expected, col) => {
      const end = starts[col + 1]! - 3;
      assert.equal(line.slice(end, end + 3), '   ', `column ${col + 1} of row ${row + 1} ends at the header's column:\n${text}`);
      const cell = line.slice(starts[col], end);
      assert.equal(unescape(cell.replace(/ +$/, '')), expected.replace(/ +$/, ''), `column ${col + 1} of row ${row + 1}:\n${text}`);
    });
    assert.match(line.slice(starts[4]), /^(\d+[smhd]|\?)$/);
  });
}

interface Answer {
  status: number;
  /** JSON, or text sent as it is. */
  body: unknown;
}

/** A stand-in for a hostile Hydroplane server: every request gets `answer(method, path)`. */
function standIn(): { start: () => Promise<string>; close: () => Promise<void>; answer: (method: string, path: string) => Answer } {
  let server: Server;
  const self = {
    answer: (_method: string, _path: string): Answer => ({ status: 500, body: null }),
    start: async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const { status, body } = self.answer(req.method!, req.url!);
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          res.writeHead(status, {
            'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
          });
          res.end(text);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return self;
}

describe('escaping for the terminal', () => {
  it('reads back unambiguously, and leaves nothing raw', () => {
    fc.assert(
      fc.property(hostile, fc.boolean(), (text, keepNewlines) => {
        const escaped = escapeText(text, { keepNewlines });
        assertNoRawControls(escaped, 'escaped text');
        if (!keepNewlines) assert.ok(!escaped.includes('\n'));
        assert.equal(unescape(escaped), text);
      }),
      { numRuns: 2000 },
    );
    assert.equal(escapeText('a\x1b[2J\u009b\u202e\\x1b\tb'), 'a\\x1b[2J\\u009b\\u202e\\\\x1b\\tb');
  });

  it('writes JSON that parses back to the same value, with nothing raw', () => {
    fc.assert(
      fc.property(fc.array(processInfo, { maxLength: 3 }), fc.constantFrom(undefined, 2), (value, indent) => {
        const json = safeJson(value, indent);
        assertNoRawControls(json, 'JSON');
        assert.deepEqual(JSON.parse(json), value);
      }),
      { numRuns: 500 },
    );
  });
});

describe('hpctl against a hostile server', () => {
  const server = standIn();
  let address = '';
  let dir = '';
  let specA = '';
  let specB = '';

  before(async () => {
    address = await server.start();
    dir = await mkdtemp(join(tmpdir(), 'hpctl-terminal-'));
    specA = join(dir, 'a.json');
    specB = join(dir, 'b.json');
    for (const file of [specA, specB]) await writeFile(file, JSON.stringify({ process_name: 'x', container: { image_uri: 'nginx' } }));
  });
  after(() => server.close());

  async function run(argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(['-s', address, ...argv], {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: {},
      now: () => Date.parse('2026-11-30T12:00:00Z'),
    });
    return { code, stdout, stderr };
  }

  it('list: JSON that parses back to the exact strings, a table with every field escaped on one line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(processInfo, { maxLength: 4 }), async (list) => {
        server.answer = (method, path) =>
          method === 'GET' && (path === '/process' || path.startsWith('/group/'))
            ? { status: 200, body: list }
            : { status: 500, body: null };
        for (const argv of [['list'], ['list', '-o', 'json'], ['list', '-g', 'g', '-o', 'json']]) {
          const res = await run(argv);
          assert.equal(res.code, 0, res.stderr);
          assertNoRawControls(res.stdout, argv.join(' '));
          assert.deepEqual(JSON.parse(res.stdout), list);
        }
        const table = await run(['list', '-o', 'table']);
        assert.equal(table.code, 0, JSON.stringify(table));
        assertTable(table.stdout, list);
      }),
      { numRuns: 300 },
    );
  });

  it('error bodies, start reports, waits and -d stacks: escaped on stderr', async () => {
    await fc.assert(
      fc.asyncProperty(processInfo, hostile, fc.constantFrom('FAILED', 'EXITED'), async (info, details, settled) => {
        const error = { error: 404, code: hostileCode(details), details };
        server.answer = (method) => (method === 'DELETE' ? { status: 404, body: error } : { status: 500, body: null });
        const stopped = await run(['stop', 'x']);
        assert.equal(stopped.code, 1, JSON.stringify(stopped));
        assertNoRawControls(stopped.stderr, 'an error body');
        assert.deepEqual(JSON.parse(stopped.stderr), error);

        const debug = await run(['-d', 'stop', 'x']);
        assertNoRawControls(debug.stderr, 'an error with -d');
        // -d's request and answer lines come first ('> ', '< '), then the error and its stack.
        const [body, stackHead] = debug.stderr.split('\n').filter((l) => !l.startsWith('> ') && !l.startsWith('< '));
        assert.deepEqual(JSON.parse(body!), error);
        assert.equal(unescape(stackHead!), details === '' ? 'ApiError' : `ApiError: ${details}`);

        // A proxy's text page: its own lines, nothing else raw.
        server.answer = () => ({ status: 502, body: `<p>${details}</p>` });
        const page = await run(['list']);
        assert.equal(page.code, 1);
        assertNoRawControls(page.stderr, 'a text error page');
        // Named as not from a Hydroplane server, then the page. Sent as UTF-8, a lone surrogate becomes U+FFFD on the way.
        const [named, ...pageLines] = page.stderr.replace(/\n$/, '').split('\n');
        assert.match(named!, /^hpctl: the answer from .* \(HTTP 502, .*\) is not from a Hydroplane server/);
        assert.equal(unescape(pageLines.join('\n')), `<p>${details.replace(/\p{Cs}/gu, '\ufffd')}</p>`);

        // A process that will not run: its name, status, exit code and reason.
        const answered = { ...info, status: settled };
        server.answer = (method) => (method === 'POST' ? { status: 201, body: answered } : { status: 500, body: null });
        const waited = await run(['start', '--wait', specA]);
        assert.equal(waited.code, 1);
        assertNoRawControls(waited.stderr, 'a failed wait');
        assert.equal(waited.stderr.split('\n').length, 2, waited.stderr);
        const said = unescape(waited.stderr.slice(0, -1));
        if (settled === 'FAILED') assert.equal(said, `hpctl: ${info.process_name} FAILED: ${info.reason ?? 'the runtime gave no reason'}`);
        else
          assert.equal(
            said,
            `hpctl: ${info.process_name} exited with code ${info.exit_code ?? 'unknown'} before it ran${info.reason ? ` (${info.reason})` : ''}`,
          );

        // Several specs: one started (hostile name and status), one refused with a hostile body.
        let posts = 0;
        server.answer = (method) =>
          method === 'POST' ? (posts++ === 0 ? { status: 201, body: info } : { status: 422, body: error }) : { status: 500, body: null };
        const several = await run(['start', specA, specB]);
        assert.equal(several.code, 1);
        assertNoRawControls(several.stderr + several.stdout, 'start of several specs');
        const lines = several.stderr.slice(0, -1).split('\n');
        assert.equal(lines.length, 3, several.stderr);
        assert.equal(unescape(lines[0]!), `${specA}: started ${info.process_name} (${info.status})`);
        assert.deepEqual(JSON.parse(lines[1]!.slice(`${specB}: `.length)), error);
        assert.deepEqual(JSON.parse(several.stdout), [info]);
      }),
      { numRuns: 150 },
    );
  });

  it('usage errors that echo an argument', async () => {
    const res = await run(['list', '-o', 'ta\x1b[2Jble\u202e\u009b']);
    assert.equal(res.code, 2);
    assertNoRawControls(res.stderr, 'a usage error');
    assert.match(res.stderr, /ta\\x1b\[2Jble\\u202e\\u009b/);
  });
});

/** A `code` as hostile as the details, so that every string of the body is. */
function hostileCode(details: string): string {
  return `not_found${details.slice(0, 3)}`;
}

const HPCTL = join(ROOT, 'dist/cli/hpctl.js');

describe('the built hpctl against a hostile server', { skip: skipOrFail('built hpctl tests', [unbuilt(HPCTL)]) }, () => {
  const server = standIn();
  let address = '';
  before(async () => {
    address = await server.start();
  });
  after(() => server.close());

  /** Runs dist/cli/hpctl.js; its output as bytes, decoded strictly (a lone surrogate would be U+FFFD). */
  const hpctl = (argv: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [HPCTL, '-s', address, ...argv], { encoding: 'buffer' }, (error, stdout, stderr) => {
        const decode = (bytes: Buffer) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        resolve({ code: error ? Number(error.code) : 0, stdout: decode(stdout), stderr: decode(stderr) });
      });
    });

  it('prints what it is served escaped, as bytes on its real stdout and stderr', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(processInfo, { minLength: 1, maxLength: 3 }), hostile, async (list, details) => {
        server.answer = (method) =>
          method === 'GET' ? { status: 200, body: list } : { status: 404, body: { error: 404, code: 'process_not_found', details } };
        const json = await hpctl(['list']);
        assert.equal(json.code, 0, JSON.stringify(json));
        assertNoRawControls(json.stdout, 'hpctl list');
        assert.deepEqual(JSON.parse(json.stdout), list);

        const table = await hpctl(['list', '-o', 'table']);
        assert.equal(table.code, 0, JSON.stringify(table));
        assertTable(table.stdout, list);

        const stopped = await hpctl(['stop', 'x']);
        assert.equal(stopped.code, 1, JSON.stringify(stopped));
        assertNoRawControls(stopped.stderr, 'hpctl stop');
        assert.equal(JSON.parse(stopped.stderr).details, details);
      }),
      { numRuns: 8 },
    );
  });
});
