import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PASSWORD_ENV, PromptAborted, readNewPassword, readPassword, readSecretValue } from '../../src/cli/password.ts';
import { HydroplaneError } from '../../src/errors.ts';
import { FakeTty, pipeOf, Sink } from './helpers.ts';

describe('readPassword', () => {
  it('takes HYDROPLANE_SECRET_STORE_PASSWORD when it is set, without reading stdin or prompting', async () => {
    const stderr = new Sink();
    const stdin = new FakeTty();
    assert.equal(await readPassword('Password: ', { [PASSWORD_ENV]: 'from env' }, { stdin, stderr }), 'from env');
    assert.equal(stderr.text, '');
    assert.deepEqual(stdin.rawModes, []);
  });

  it('refuses an empty HYDROPLANE_SECRET_STORE_PASSWORD with a message naming it', async () => {
    await assert.rejects(
      readPassword('Password: ', { [PASSWORD_ENV]: '' }, { stdin: pipeOf('x\n'), stderr: new Sink() }),
      (err: unknown) => err instanceof HydroplaneError && err.message.includes(PASSWORD_ENV),
    );
  });

  it('reads the first line of a pipe, without its line ending, and prompts nothing', async () => {
    const stderr = new Sink();
    assert.equal(await readPassword('Password: ', {}, { stdin: pipeOf('pw one\r\nrest'), stderr }), 'pw one');
    assert.equal(await readPassword('Password: ', {}, { stdin: pipeOf('no newline'), stderr }), 'no newline');
    assert.equal(stderr.text, '');
  });

  it('names HYDROPLANE_SECRET_STORE_PASSWORD when a pipe gives no password', async () => {
    for (const piped of ['', '\n', '\r\nsecond line']) {
      await assert.rejects(readPassword('Password: ', {}, { stdin: pipeOf(piped), stderr: new Sink() }), (error: Error) => {
        assert.match(error.message, /HYDROPLANE_SECRET_STORE_PASSWORD is not set, and standard input is not a terminal/);
        return true;
      });
    }
  });

  it('leaves the rest of a pipe for the value: a password line, then the value to its end', async () => {
    const stdin = new PassThrough();
    const streams = { stdin, stderr: new Sink() };
    stdin.write('pass');
    setImmediate(() => stdin.end('word\nthe value\nwith two lines\n'));
    assert.equal(await readPassword('Password: ', {}, streams), 'password');
    assert.equal(await readSecretValue('Value: ', streams), 'the value\nwith two lines');
  });

  it('reads a terminal in raw mode without echo: backspace, Ctrl-U, UTF-8 split across chunks, Enter', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const password = readPassword('Password: ', {}, { stdin, stderr });
    stdin.type('junk\u0015');
    stdin.type('pa\u007fas');
    const e = Buffer.from('é');
    stdin.type(e.subarray(0, 1));
    stdin.type(Buffer.concat([e.subarray(1), Buffer.from('\u001b\r ignored after Enter')]));
    assert.equal(await password, 'pasé');
    assert.equal(stderr.text, 'Password: \n', 'the prompt, then only a newline: nothing typed is shown');
    assert.deepEqual(stdin.rawModes, [true, false], 'raw mode is turned off again');
  });

  it('throws PromptAborted on Ctrl-C, with the terminal restored', async () => {
    const stdin = new FakeTty();
    const password = readPassword('Password: ', {}, { stdin, stderr: new Sink() });
    stdin.type('abc\u0003');
    await assert.rejects(password, PromptAborted);
    assert.equal(stdin.isRaw, false);
  });
});

describe('readNewPassword', () => {
  it('asks twice on a terminal and accepts two equal answers', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const password = readNewPassword('New: ', 'Again: ', {}, { stdin, stderr });
    stdin.type('same\r');
    await stderr.waitFor('Again: ');
    stdin.type('same\r');
    assert.equal(await password, 'same');
  });

  it('refuses two different answers', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const password = readNewPassword('New: ', 'Again: ', {}, { stdin, stderr });
    stdin.type('one\r');
    await stderr.waitFor('Again: ');
    stdin.type('two\r');
    await assert.rejects(password, (err: unknown) => err instanceof HydroplaneError && /differ/.test(err.message));
  });

  it('reads once from the environment or a pipe', async () => {
    assert.equal(await readNewPassword('New: ', 'Again: ', { [PASSWORD_ENV]: 'env' }, { stdin: new FakeTty(), stderr: new Sink() }), 'env');
    assert.equal(await readNewPassword('New: ', 'Again: ', {}, { stdin: pipeOf('piped\n'), stderr: new Sink() }), 'piped');
  });
});

describe('readSecretValue', () => {
  it('keeps the bytes of a pipe but exactly one trailing line end, a byte order mark included', async () => {
    const text = '\uFEFF{"a": "b"}\r\n\n';
    assert.equal(await readSecretValue('Value: ', { stdin: pipeOf(text), stderr: new Sink() }), '\uFEFF{"a": "b"}\r\n');
    assert.equal(await readSecretValue('Value: ', { stdin: pipeOf('a\r\n\r\n'), stderr: new Sink() }), 'a\r\n');
    assert.equal(await readSecretValue('Value: ', { stdin: pipeOf('a\r'), stderr: new Sink() }), 'a\r', 'a lone CR is not a line end');
    assert.equal(await readSecretValue('Value: ', { stdin: pipeOf('a\n\r'), stderr: new Sink() }), 'a\n\r');
  });

  it('refuses input that is not UTF-8', async () => {
    await assert.rejects(
      readSecretValue('Value: ', { stdin: pipeOf(Buffer.from([0xff, 0xfe, 0x00])), stderr: new Sink() }),
      (err: unknown) => err instanceof HydroplaneError && /UTF-8/.test(err.message),
    );
  });

  it('reads a terminal without echo, Enter not included', async () => {
    const stdin = new FakeTty();
    const stderr = new Sink();
    const value = readSecretValue('Value: ', { stdin, stderr });
    stdin.type('typed value\r');
    assert.equal(await value, 'typed value');
    assert.equal(stderr.text, 'Value: \n');
  });
});
