// Turning a runtime's log stream into the text chunks that Runtime.logs yields: UTF-8 decoded
// without splitting a character across chunks, quiet when the caller aborted, and with any other
// failure translated by the runtime. A feed of JSON lines (the Engine's events) is read the same way.
import type { Readable } from 'node:stream';

/** Decodes a byte stream as UTF-8 text; see `logText` for the ending. */
export async function* utf8Text(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/**
 * Text chunks from a runtime's open log stream. Aborting `signal` destroys the stream (closing the
 * connection to the Engine or API server) and ends the iteration without an error; ending the
 * iteration early does the same. Any other failure is thrown as `translate` makes it.
 */
export async function* logText<T = string>(
  stream: Readable,
  decode: (source: AsyncIterable<Buffer>) => AsyncIterable<T>,
  signal: AbortSignal | undefined,
  translate: (err: unknown) => Error,
): AsyncGenerator<T> {
  const onAbort = () => stream.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) return;
    yield* decode(stream as AsyncIterable<Buffer>);
  } catch (err) {
    if (signal?.aborted) return;
    throw translate(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

export async function* noText(): AsyncGenerator<string> {}

/** The longest line that textLines takes: a feed of JSON lines that never ends one is not a runtime's. */
export const LINE_MAX = 1 << 20;

/** Text chunks -> whole lines, without their newline; a last line without one is given at the end. */
export async function* textLines(source: AsyncIterable<string>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of source) {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    yield* lines;
    if (pending.length > LINE_MAX) throw new Error(`a line longer than ${LINE_MAX} characters`);
  }
  if (pending !== '') yield pending;
}
