// Reading passwords and secret values: from the environment, from a terminal without echo, or
// from a pipe so that scripts can feed them. Shared by local-secret-store and the server.
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ReadStream } from 'node:tty';
import { HydroplaneError } from '../errors.ts';

export const PASSWORD_ENV = 'HYDROPLANE_SECRET_STORE_PASSWORD';
/** What a shell reports for a command stopped by Ctrl-C (128 + SIGINT); use it for PromptAborted. */
export const EXIT_ABORTED = 130;

/** The user pressed Ctrl-C at a prompt. The terminal is already restored when this is thrown. */
export class PromptAborted extends Error {
  override readonly name = 'PromptAborted';
  constructor() {
    super('aborted at the prompt');
  }
}

export interface PromptStreams {
  stdin: Readable;
  /** Prompts go here, so that stdout carries only a command's output. */
  stderr: Writable;
}

function processStreams(): PromptStreams {
  return { stdin: process.stdin, stderr: process.stderr };
}

export function isTerminal(stream: Readable | Writable): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/**
 * The secret store's password: HYDROPLANE_SECRET_STORE_PASSWORD when set; else, on a terminal, typed
 * without echo after `prompt` on stderr; else the first line of stdin. Throws PromptAborted on Ctrl-C.
 */
export async function readPassword(
  prompt: string,
  env: NodeJS.ProcessEnv = process.env,
  streams: PromptStreams = processStreams(),
): Promise<string> {
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv === '') {
      throw new HydroplaneError('secrets_unavailable', `${PASSWORD_ENV} is set but empty; an empty password is not allowed`);
    }
    return fromEnv;
  }
  if (isTerminal(streams.stdin)) return readHidden(prompt, streams);
  const piped = (await inputOf(streams.stdin).readLine(PASSWORD_LINE_MAX)) ?? '';
  if (piped === '') {
    throw new HydroplaneError(
      'secrets_unavailable',
      `no secret store password: ${PASSWORD_ENV} is not set, and standard input is not a terminal and gave an empty first line; ` +
        `set ${PASSWORD_ENV}, or pipe the password in`,
    );
  }
  return piped;
}

/**
 * A password for a new store. Asked twice, and refused when the two differ, only when typed on a
 * terminal: from the environment or a pipe it is read once, like readPassword.
 */
export async function readNewPassword(
  prompt: string,
  confirmPrompt: string,
  env: NodeJS.ProcessEnv = process.env,
  streams: PromptStreams = processStreams(),
): Promise<string> {
  const first = await readPassword(prompt, env, streams);
  if (env[PASSWORD_ENV] !== undefined || !isTerminal(streams.stdin)) return first;
  const second = await readHidden(confirmPrompt, streams);
  if (first !== second) throw new HydroplaneError('invalid_request', 'the two passwords differ');
  return first;
}

/**
 * A secret's value: typed without echo on a terminal (Enter ends it, and is not part of it), else
 * all of stdin to its end, less one line end (`printf 'value\n' | ...` stores `value`, as the
 * original's prompt did). Refuses input that is not UTF-8 text.
 */
export async function readSecretValue(prompt: string, streams: PromptStreams = processStreams()): Promise<string> {
  if (isTerminal(streams.stdin)) return readHidden(prompt, streams);
  // The line end a pipe adds is not the value's: read up to two bytes more for it.
  const all = await inputOf(streams.stdin).readAll(SECRET_VALUE_MAX + 2);
  const value = all === undefined ? undefined : withoutLineEnd(decodeUtf8(all, 'standard input'));
  if (value === undefined || Buffer.byteLength(value) > SECRET_VALUE_MAX) throw valueTooLarge('standard input');
  return value;
}

/**
 * The most a secret's value may hold: far above any credential, key or certificate chain, and a
 * bound on what a wrong input (`-f /dev/zero`, a log) makes the command read before it says so.
 */
export const SECRET_VALUE_MAX = 1024 * 1024;
/** The longest password line read from standard input: no password comes near it. */
const PASSWORD_LINE_MAX = 64 * 1024;

export function valueTooLarge(source: string): HydroplaneError {
  return new HydroplaneError(
    'invalid_request',
    `${source} holds more than ${SECRET_VALUE_MAX / 1024 / 1024} MiB, more than a secret's value may (credentials, keys and certificates are far smaller); nothing was stored`,
  );
}

/** `text` less exactly one trailing line end, "\n" or "\r\n"; other line ends stay. */
export function withoutLineEnd(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/** Strict UTF-8, keeping a byte order mark, so that the text encodes back to the same bytes. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new HydroplaneError('invalid_request', `${source} is not UTF-8 text; secrets are text (encode binary data, e.g. as base64)`);
  }
}

function readHidden(prompt: string, streams: PromptStreams): Promise<string> {
  const input = streams.stdin as ReadStream;
  streams.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const decoder = new StringDecoder('utf8');
    const wasRaw = input.isRaw;
    const finish = (settle: () => void): void => {
      input.removeListener('data', onData);
      input.removeListener('error', onError);
      input.setRawMode(wasRaw);
      input.pause();
      streams.stderr.write('\n');
      settle();
    };
    const onError = (err: Error): void => finish(() => reject(err));
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        switch (ch) {
          case '\r':
          case '\n':
          case '\u0004': // Ctrl-D
            finish(() => resolve(chars.join('')));
            return;
          case '\u0003': // Ctrl-C: raw mode turned off the terminal's own SIGINT
            finish(() => reject(new PromptAborted()));
            return;
          case '\u007f':
          case '\b':
            chars.pop();
            break;
          case '\u0015': // Ctrl-U erases the line, as in the terminal's own line editing
            chars = [];
            break;
          default:
            if (ch >= ' ') chars.push(ch);
        }
      }
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.on('error', onError);
    input.resume();
  });
}

// One reader per stream, so that a password line and then a value can both come from one pipe.
const inputs = new WeakMap<Readable, BufferedInput>();

function inputOf(stream: Readable): BufferedInput {
  let input = inputs.get(stream);
  if (input === undefined) {
    input = new BufferedInput(stream);
    inputs.set(stream, input);
  }
  return input;
}

class BufferedInput {
  readonly #stream: Readable;
  #buffered: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(stream: Readable) {
    this.#stream = stream;
  }

  /** The next line without its line ending, or null at the end of the input; refused past `max` bytes. */
  async readLine(max: number): Promise<string | null> {
    for (;;) {
      const newline = this.#buffered.indexOf(0x0a);
      if (newline < 0 && this.#buffered.length > max) {
        throw new HydroplaneError(
          'invalid_request',
          `the first line of standard input, read as the password, runs past ${max / 1024} KiB, which no password does: pipe the password in on a line of its own, or set ${PASSWORD_ENV}`,
        );
      }
      if (newline >= 0) {
        const line = this.#buffered.subarray(0, newline);
        this.#buffered = this.#buffered.subarray(newline + 1);
        return decodeUtf8(stripCarriageReturn(line), 'the line read from standard input');
      }
      if (!(await this.#more())) {
        if (this.#buffered.length === 0) return null;
        const rest = this.#buffered;
        this.#buffered = Buffer.alloc(0);
        return decodeUtf8(stripCarriageReturn(rest), 'the line read from standard input');
      }
    }
  }

  /** Everything to the end of the input, or undefined once past `max` bytes (the rest unread). */
  async readAll(max: number): Promise<Buffer | undefined> {
    while (await this.#more()) if (this.#buffered.length > max) return undefined;
    const all = this.#buffered;
    this.#buffered = Buffer.alloc(0);
    return all;
  }

  #more(): Promise<boolean> {
    const stream = this.#stream;
    if (this.#ended || stream.readableEnded) {
      this.#ended = true;
      return Promise.resolve(false);
    }
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        stream.removeListener('data', onData);
        stream.removeListener('end', onEnd);
        stream.removeListener('error', onError);
        if (!this.#ended) {
          stream.pause();
          // A pipe still being read keeps the process alive even when paused; unref so that a
          // writer who leaves it open (a password line, then nothing) cannot hold us up.
          (stream as { unref?: () => void }).unref?.();
        }
      };
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        this.#buffered = Buffer.concat([this.#buffered, bytes]);
        cleanup();
        resolve(true);
      };
      const onEnd = (): void => {
        this.#ended = true;
        cleanup();
        resolve(false);
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      (stream as { ref?: () => void }).ref?.();
      stream.resume();
    });
  }
}

function stripCarriageReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}
