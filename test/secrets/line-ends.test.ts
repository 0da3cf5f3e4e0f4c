// Line ends, as a script meets them with the real command in a shell: a value piped in loses
// exactly one trailing line end (the original's prompt stripped it), -f keeps the bytes, and
// get prints the value and a newline, so that "get A | add B" copies A exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { main } from '../../src/cli/local-secret-store.ts';
import { PASSWORD_ENV, withoutLineEnd } from '../../src/cli/password.ts';
import { LocalSecretStore } from '../../src/secrets/local-secret-store.ts';
import { pipeOf, Sink, tempDir } from './helpers.ts';

const PASSWORD = 'line ends';
const CLI = fileURLToPath(new URL('../../src/cli/local-secret-store.ts', import.meta.url));
const run = promisify(execFile);
const root = await tempDir();

/** Runs `script` in sh, with the command as $LSS, the store as $STORE and the password in the environment. */
async function sh(script: string, store: string): Promise<{ stdout: string; stderr: string }> {
  return run('/bin/sh', ['-c', script], {
    env: { PATH: process.env['PATH'], LSS: `${process.execPath} ${CLI}`, STORE: store, [PASSWORD_ENV]: PASSWORD },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('local-secret-store and line ends, in a shell', () => {
  let store = '';
  const stored = async (name: string) => (await LocalSecretStore.open(store, PASSWORD)).get(name);

  before(async () => {
    store = join(root, 'store');
    await sh('$LSS --store_location "$STORE" init', store);
  });

  it("stores `value` from printf 'value\\n' | add, as the original did", async () => {
    await sh(`printf 'value\\n' | $LSS --store_location "$STORE" add lf`, store);
    assert.equal(await stored('lf'), 'value');
    await sh(`printf 'value\\r\\n' | $LSS --store_location "$STORE" add crlf`, store);
    assert.equal(await stored('crlf'), 'value');
    await sh(`printf 'value' | $LSS --store_location "$STORE" add bare`, store);
    assert.equal(await stored('bare'), 'value');
    // Exactly one: a value that ends in an empty line keeps it.
    await sh(`printf 'line 1\\nline 2\\n\\n' | $LSS --store_location "$STORE" add two`, store);
    assert.equal(await stored('two'), 'line 1\nline 2\n');
    // echo, and a here-document, as scripts write them.
    await sh(`echo 's3cret' | $LSS --store_location "$STORE" add echoed`, store);
    assert.equal(await stored('echoed'), 's3cret');
    await sh(`$LSS --store_location "$STORE" add heredoc <<EOF\n{"user": "u", "password": "p"}\nEOF`, store);
    assert.equal(await stored('heredoc'), '{"user": "u", "password": "p"}');
  });

  it('keeps the bytes of -f FILE, line ends included', async () => {
    const file = join(root, 'value.pem');
    const pem = '-----BEGIN KEY-----\r\nabc\r\n-----END KEY-----\n';
    await writeFile(file, pem);
    await sh(`$LSS --store_location "$STORE" add pem -f "${file}"`, store);
    assert.equal(await stored('pem'), pem);
  });

  it('prints the value and a newline; "$(get)" is the value, and get | add copies it exactly', async () => {
    const got = await sh('$LSS --store_location "$STORE" get lf', store);
    assert.deepEqual(got, { stdout: 'value\n', stderr: '' });
    const substituted = await sh('v="$($LSS --store_location "$STORE" get two)"; printf "%s|" "$v"', store);
    assert.equal(substituted.stdout, 'line 1\nline 2|', 'command substitution drops the trailing newlines, as with the original');
    await sh('$LSS --store_location "$STORE" get pem | $LSS --store_location "$STORE" add pem-copy', store);
    assert.equal(await stored('pem-copy'), await stored('pem'));
  });
});

describe('a piped value', () => {
  it('loses exactly one trailing line end, whatever the value, and get | add copies every value', async () => {
    const store = join(root, 'property-store');
    const env = { [PASSWORD_ENV]: PASSWORD };
    assert.equal(await main(['--store_location', store, 'init'], { stdin: pipeOf(''), stdout: new Sink(), stderr: new Sink(), env }), 0);
    const opened = await LocalSecretStore.open(store, PASSWORD);
    const text = fc.string({ unit: fc.constantFrom('a', 'é', ' ', '\n', '\r', '\t', '"', '{'), minLength: 1, maxLength: 12 });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom('', '\n', '\r\n'), async (value, end) => {
        fc.pre(withoutLineEnd(value + end) !== '');
        assert.equal(withoutLineEnd(value + end), (value + end).replace(/\r?\n$/, ''));
        const name = `p${n++}`;
        const io = (stdin: string, stdout = new Sink()) => ({ stdin: pipeOf(stdin), stdout, stderr: new Sink(), env });
        assert.equal(await main(['--store_location', store, 'add', name], io(value + end)), 0);
        // The specification, written independently of withoutLineEnd: one \n or \r\n off the end.
        const expected = (value + end).replace(/\r?\n$/, '');
        assert.equal(await opened.get(name), expected);
        const out = new Sink();
        assert.equal(await main(['--store_location', store, 'get', name], io('', out)), 0);
        assert.equal(out.text, `${expected}\n`);
        // The one value that a copy changes: one ending in a carriage return, whose CR and get's
        // newline read as one CRLF line end (docs/secrets.md says so).
        const copied = expected.endsWith('\r') ? expected.slice(0, -1) : expected;
        const copy = await main(['--store_location', store, 'add', `${name}-copy`], io(out.text));
        if (copied === '') assert.equal(copy, 1, 'an empty value is refused');
        else assert.equal(await opened.get(`${name}-copy`), copied);
      }),
      // Each run opens the store three times, each a 390,000-round key derivation (the format's): a dozen runs, not more.
      { numRuns: 12 },
    );
  });
});
