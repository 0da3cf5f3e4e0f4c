import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { main } from '../../src/cli/local-secret-store.ts';
import { PASSWORD_ENV } from '../../src/cli/password.ts';
import { FakeTty, pipeOf, Sink, tempDir } from './helpers.ts';

const PASSWORD = 'cli password';
const VALUE = 'the-cli-secret-value';
const CLI = fileURLToPath(new URL('../../src/cli/local-secret-store.ts', import.meta.url));
const root = await tempDir();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], options: { stdin?: Readable; env?: NodeJS.ProcessEnv; stdoutTty?: boolean } = {}): Promise<Run> {
  const stdout = new Sink(options.stdoutTty === true);
  const stderr = new Sink();
  const env = options.env ?? { [PASSWORD_ENV]: PASSWORD };
  const code = await main(argv, { stdin: options.stdin ?? pipeOf(''), stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function assertOneLineError(run: Run, ...mustContain: string[]): void {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, no stack trace: ${run.stderr}`);
  assert.match(lines[0] ?? '', /^local-secret-store: /);
  for (const text of mustContain) assert.ok(run.stderr.includes(text), `${JSON.stringify(run.stderr)} should name ${text}`);
  assert.ok(!run.stderr.includes(VALUE));
}

describe('local-secret-store through main()', () => {
  const store = join(root, 'store');
  const at = ['--store_location', store];

  before(async () => {
    const run = await cli([...at, 'init']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /Made a local secret store at/);
  });

  it('refuses a second init at the same place', async () => {
    assertOneLineError(await cli([...at, 'init']), 'already exists', store);
  });

  it('adds from a pipe and gets the value and a newline, nothing else on stdout', async () => {
    assert.equal((await cli([...at, 'add', 'piped'], { stdin: pipeOf(`${VALUE}\n`) })).code, 0);
    const run = await cli([...at, 'get', 'piped']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${VALUE}\n`, "the pipe's line end is not stored; get adds one, as the original's print did");
    assert.equal(run.stderr, '');
  });

  it('adds from -f FILE byte for byte, JSON included', async () => {
    const file = join(root, 'creds.json');
    const json = '{\n  "username": "admin",\n  "password": "pw"\n}\n';
    await writeFile(file, json);
    assert.equal((await cli([...at, 'add', 'creds', '-f', file])).code, 0);
    assert.equal((await cli([...at, 'get', 'creds'])).stdout, `${json}\n`);
    assert.equal((await cli([...at, 'add', 'creds2', '--filename', file])).code, 0);
    assert.equal((await cli([...at, 'get', 'creds2'])).stdout, `${json}\n`);
  });

  it('ends the value with a newline on a terminal and off it', async () => {
    await cli([...at, 'add', 'tty-out'], { stdin: pipeOf('abc') });
    assert.equal((await cli([...at, 'get', 'tty-out'], { stdoutTty: true })).stdout, 'abc\n');
    assert.equal((await cli([...at, 'get', 'tty-out'])).stdout, 'abc\n');
  });

  it('takes the password from the first line of stdin and the value from the rest', async () => {
    const env = {};
    assert.equal((await cli([...at, 'add', 'all-piped'], { env, stdin: pipeOf(`${PASSWORD}\nline 1\nline 2`) })).code, 0);
    assert.equal((await cli([...at, 'get', 'all-piped'], { env, stdin: pipeOf(`${PASSWORD}\n`) })).stdout, 'line 1\nline 2\n');
  });

  it('stops reading a value past 1 MiB, or a password line past 64 KiB, and stores nothing', async () => {
    // Never-ending inputs: before, -f /dev/zero was read until memory ran out.
    assertOneLineError(await cli([...at, 'add', 'huge', '-f', '/dev/zero']), '/dev/zero holds more than 1 MiB', 'nothing was stored');
    const endless = () =>
      Readable.from(
        (function* () {
          for (;;) yield Buffer.alloc(65536, 0x61);
        })(),
      );
    assertOneLineError(await cli([...at, 'add', 'huge'], { stdin: endless() }), 'standard input holds more than 1 MiB');
    assertOneLineError(await cli([...at, 'get', 'huge'], { stdin: endless(), env: {} }), 'runs past 64 KiB, which no password does');
    assertOneLineError(await cli([...at, 'get', 'huge']), "secret 'huge' not found");
    // Exactly 1 MiB is a value, from a file or a pipe (with or without the line end it loses there).
    const mib = 'k'.repeat(1024 * 1024);
    const file = join(root, 'one-mib');
    await writeFile(file, mib);
    assert.equal((await cli([...at, 'add', 'mib', '-f', file])).code, 0);
    assert.equal((await cli([...at, 'add', 'mib-piped'], { stdin: pipeOf(`${mib}\r\n`) })).code, 0);
    assert.equal((await cli([...at, 'add', 'mib-piped', '--overwrite'], { stdin: pipeOf(mib) })).code, 0);
    assertOneLineError(await cli([...at, 'add', 'mib-more'], { stdin: pipeOf(`${mib}k`) }), 'more than 1 MiB');
    assertOneLineError(await cli([...at, 'add', 'mib-more'], { stdin: pipeOf(`${mib}k\n`) }), 'more than 1 MiB');
    assert.equal((await cli([...at, 'get', 'mib'])).stdout, `${mib}\n`);
  });

  it('shows the names it is given with control characters escaped, whatever they hold', async () => {
    const hostile = fc.constantFrom('\u001b[2J', '\u001b]0;title\u0007', '\n', '\r', '\u0000', '\u009b31m', '\u202e', 'a', 'é', '\\');
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 6 }), async (parts) => {
        const name = `n${parts.join('')}`;
        const runs = [
          await cli([...at, 'add', '--overwrite', name], { stdin: pipeOf('v') }),
          await cli([...at, 'get', `${name}-absent`]),
          await cli([...at, 'remove', name]),
          await cli([...at, name]),
        ];
        for (const [i, run] of runs.entries()) {
          // commander's usage errors keep line ends (theirs and the argument's alike), as hpctl's do.
          const text = i === 3 ? run.stderr.replace(/\n/g, '') : run.stderr.replace(/\n$/, '');
          assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u202e]/, JSON.stringify(run.stderr));
        }
        assert.equal(runs[0]!.code, 0, runs[0]!.stderr);
        assert.equal(runs[2]!.code, 0, runs[2]!.stderr);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses an empty --store_location rather than taking the current folder', async () => {
    const run = await cli(['--store_location', '', 'get', 'x']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--store_location is empty/);
  });

  it('refuses an existing name without --overwrite, and replaces it with --overwrite', async () => {
    await cli([...at, 'add', 'dup'], { stdin: pipeOf('one') });
    assertOneLineError(await cli([...at, 'add', 'dup'], { stdin: pipeOf(VALUE) }), "'dup'", '--overwrite');
    assert.equal((await cli([...at, 'get', 'dup'])).stdout, 'one\n');
    assert.equal((await cli([...at, 'add', '--overwrite', 'dup'], { stdin: pipeOf('two') })).code, 0);
    assert.equal((await cli([...at, 'get', 'dup'])).stdout, 'two\n');
  });

  it('refuses an empty value', async () => {
    assertOneLineError(await cli([...at, 'add', 'empty'], { stdin: pipeOf('') }), 'empty');
    assert.equal((await cli([...at, 'get', 'empty'])).code, 1);
  });

  it('removes, then reports the missing secret', async () => {
    await cli([...at, 'add', 'gone'], { stdin: pipeOf(VALUE) });
    const removed = await cli([...at, 'remove', 'gone']);
    assert.equal(removed.code, 0);
    assert.equal(removed.stdout, '');
    assertOneLineError(await cli([...at, 'get', 'gone']), "'gone'", 'not found', store);
    assertOneLineError(await cli([...at, 'remove', 'gone']), "'gone'", 'not found');
  });

  it('exits 1 with one line for a wrong password, an empty password and a missing store', async () => {
    assertOneLineError(await cli([...at, 'get', 'piped'], { env: { [PASSWORD_ENV]: 'wrong' } }), 'wrong password', store);
    assertOneLineError(await cli([...at, 'get', 'piped'], { env: {}, stdin: pipeOf('\n') }), 'empty');
    const nowhere = join(root, 'nowhere');
    assertOneLineError(await cli(['--store_location', nowhere, 'get', 'x']), nowhere, 'init');
    assertOneLineError(await cli([...at, 'add', 'x', '-f', join(root, 'no-such-file')]), 'no-such-file');
  });

  it('takes --store_location and --store-location before or after the subcommand', async () => {
    await cli([...at, 'add', 'where'], { stdin: pipeOf('here') });
    for (const argv of [
      ['get', 'where', '--store_location', store],
      ['get', '--store-location', store, 'where'],
      ['--store-location', store, 'get', 'where'],
      [`--store_location=${store}`, 'get', 'where'],
    ]) {
      const run = await cli(argv);
      assert.equal(run.stdout, 'here\n', argv.join(' '));
    }
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await cli(['bogus'])).code, 2);
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli([...at, 'get'])).code, 2);
    assert.equal((await cli([...at, 'add', 'x', '--nope'])).code, 2);
    assert.equal((await cli(['--store_location', store, '--store-location', join(root, 'elsewhere'), 'get', 'x'])).code, 2);
  });

  it('says in --help that there is no list command, and why', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /no "list" command/);
    assert.match(run.stdout, /MD5/);
    assert.match(run.stdout, /--store_location/);
  });

  it('asks twice on a terminal at init, and refuses two different passwords', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const running = main(['--store_location', join(root, 'tty-store'), 'init'], { stdin, stdout: new Sink(), stderr, env: {} });
    await stderr.waitFor('Password for the new secret store');
    stdin.type('one\r');
    await stderr.waitFor('The same password again');
    stdin.type('two\r');
    assert.equal(await running, 1);
    assert.match(stderr.text, /differ/);
  });

  it('reads a typed value without echo and exits 130 on Ctrl-C', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const adding = main([...at, 'add', 'typed'], { stdin, stdout: new Sink(), stderr, env: { [PASSWORD_ENV]: PASSWORD } });
    await stderr.waitFor("Value of secret 'typed'");
    stdin.type('typed value\r');
    assert.equal(await adding, 0);
    assert.ok(!stderr.text.includes('typed value'));
    assert.equal((await cli([...at, 'get', 'typed'])).stdout, 'typed value\n');

    const tty = new FakeTty();
    const err = new Sink();
    const aborted = main([...at, 'get', 'typed'], { stdin: tty, stdout: new Sink(), stderr: err, env: {} });
    await err.waitFor('Password for the secret store');
    tty.type('\u0003');
    assert.equal(await aborted, 130);
  });
});

function spawnCli(args: string[], env: NodeJS.ProcessEnv, stdin?: string, keepStdinOpen = false): Promise<Run> {
  return new Promise((resolve, reject) => {
    // The timeout turns a hang (a CLI waiting on an open pipe) into a failure with code -1.
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'], ...env }, timeout: 15_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin.write(stdin);
    if (!keepStdinOpen) child.stdin.end();
  });
}

describe('local-secret-store as a program', () => {
  it('runs init, add, get and remove with the password from the environment', async () => {
    const store = join(root, 'spawned');
    const env = { [PASSWORD_ENV]: PASSWORD };
    assert.equal((await spawnCli(['--store_location', store, 'init'], env)).code, 0);
    assert.equal((await spawnCli(['--store_location', store, 'add', 'db'], env, '{"password": "pw"}')).code, 0);
    const got = await spawnCli(['--store_location', store, 'get', 'db'], env);
    assert.deepEqual(got, { code: 0, stdout: '{"password": "pw"}\n', stderr: '' });
    assert.equal((await spawnCli(['remove', 'db', '--store_location', store], env)).code, 0);
    const missing = await spawnCli(['--store_location', store, 'get', 'db'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^local-secret-store: secret 'db' not found/);
    assert.equal((await spawnCli(['frobnicate'], env)).code, 2);
    assert.equal(await readFile(join(store, '.salt')).then((b) => b.length), 16);
  });

  it('exits once it has read a password line, even when the writer keeps the pipe open', async () => {
    const store = join(root, 'spawned-open-pipe');
    await spawnCli(['--store_location', store, 'init'], { [PASSWORD_ENV]: PASSWORD });
    await spawnCli(['--store_location', store, 'add', 'k'], { [PASSWORD_ENV]: PASSWORD }, 'v');
    const got = await spawnCli(['--store_location', store, 'get', 'k'], {}, `${PASSWORD}\n`, true);
    assert.deepEqual(got, { code: 0, stdout: 'v\n', stderr: '' });
  });
});
