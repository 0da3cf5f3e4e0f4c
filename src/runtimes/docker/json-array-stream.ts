// The elements of a JSON array, parsed one by one as its bytes arrive. GET /containers/json
// answers one array with about a kilobyte per container. Parsed whole, the answer was held three
// times at once (its chunks, their concatenation, the string), then as every entry's objects, of
// which a list keeps a few fields: for 1,000 containers some megabytes alive at once, which made
// V8 grow its young generation for good (bench/README.md, "RSS after the lists"). Split at the
// array's top level, each element is parsed when it is complete and handed to `keep`, so only
// what that keeps outlives it, and the parsing overlaps the Engine's writing of the rest.
//
// Finding the elements needs only the structure: brackets and braces outside strings, strings
// with their escapes. UTF-8 never uses an ASCII byte inside a multi-byte character, so cutting
// at the ASCII bytes of the structure never splits a character; each element's own text is
// checked by JSON.parse.
//
// Pure: no I/O. Malformed input throws JsonArrayError, saying what and at which byte.

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../../spec/json-syntax.ts';

export class JsonArrayError extends Error {
  override readonly name = 'JsonArrayError';
}

/** What may come next at the array's top level. */
type Expect = 'open' | 'value-or-close' | 'value' | 'comma-or-close' | 'nothing';

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The default bound on one element: far above any Engine's entry, far below the memory it guards. */
export const MAX_ELEMENT_BYTES = 16 << 20;

/**
 * Feed it the bytes with push(), in chunks cut anywhere; end() checks that the array closed and
 * gives what `keep` made of each element, in order. Elements must be objects or arrays (an
 * Engine's lists hold objects only).
 */
export class JsonArraySplitter<T> {
  readonly #keep: (element: unknown) => T;
  readonly #maxElementBytes: number;
  readonly #kept: T[] = [];
  #expect: Expect = 'open';
  /** Nesting inside the current element: 0 between elements. */
  #depth = 0;
  #inString = false;
  /** The last byte seen was a backslash inside a string (its escape continues in the next chunk). */
  #escaping = false;
  /** The current element's bytes from earlier chunks. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Bytes before the current chunk, for the positions that errors name. */
  #offset = 0;
  /** In the current chunk: the next backslash at or after the last search, or the chunk's length for none. */
  #backslash = -1;

  constructor(keep: (element: unknown) => T, options: { maxElementBytes?: number } = {}) {
    this.#keep = keep;
    this.#maxElementBytes = options.maxElementBytes ?? MAX_ELEMENT_BYTES;
  }

  push(chunk: Buffer): void {
    // Where the current element starts in this chunk (0 when it began in an earlier one).
    let start = this.#depth > 0 ? 0 : -1;
    // The next backslash, searched once per stretch: searching from every string to the chunk's
    // end (an Engine's entries have hardly any) made the split quadratic in the chunk's size.
    this.#backslash = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.#inString) {
        i = this.#skipString(chunk, i);
        continue;
      }
      const byte = chunk[i]!;
      if (this.#depth > 0) {
        if (byte === QUOTE) this.#inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.#depth++;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          this.#depth--;
          if (this.#depth === 0) {
            this.#complete(chunk.subarray(start, i + 1));
            start = -1;
          }
        }
        i++;
        continue;
      }
      this.#topLevel(byte, i);
      if (this.#depth > 0) start = i;
      i++;
    }
    if (start !== -1) {
      const rest = chunk.subarray(start);
      this.#partBytes += rest.length;
      this.#checkLength(this.#partBytes);
      // A copy: the caller may reuse the chunk's memory.
      this.#parts.push(Buffer.from(rest));
    }
    this.#offset += chunk.length;
  }

  /** The kept elements, once the array has closed (and nothing but whitespace followed it). */
  end(): T[] {
    if (this.#expect !== 'nothing') {
      const what = this.#expect === 'open' ? 'no array at all' : 'the array was not closed';
      throw new JsonArrayError(`the text ended after ${this.#offset} bytes: ${what}`);
    }
    return this.#kept;
  }

  /** The string's bytes from `i`; returns where to go on (past its closing quote, or the chunk's end). */
  #skipString(chunk: Buffer, i: number): number {
    if (this.#escaping) {
      this.#escaping = false;
      i++;
    }
    for (;;) {
      const quote = chunk.indexOf(QUOTE, i);
      if (this.#backslash !== chunk.length && this.#backslash < i) {
        const found = chunk.indexOf(BACKSLASH, i);
        this.#backslash = found === -1 ? chunk.length : found;
      }
      const backslash = this.#backslash;
      if (backslash < chunk.length && (quote === -1 || backslash < quote)) {
        if (backslash + 1 >= chunk.length) {
          this.#escaping = true;
          return chunk.length;
        }
        i = backslash + 2;
        continue;
      }
      if (quote === -1) return chunk.length;
      this.#inString = false;
      return quote + 1;
    }
  }

  /** A byte between elements. */
  #topLevel(byte: number, i: number): void {
    if (isWhitespace(byte)) return;
    const at = () => `at byte ${this.#offset + i}`;
    switch (this.#expect) {
      case 'open':
        if (byte !== OPEN_BRACKET) throw new JsonArrayError(`expected '[' ${at()}, found ${shownByte(byte)}`);
        this.#expect = 'value-or-close';
        return;
      case 'value-or-close':
      case 'value':
        if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          this.#depth = 1;
          this.#expect = 'comma-or-close';
          return;
        }
        if (byte === CLOSE_BRACKET && this.#expect === 'value-or-close') {
          this.#expect = 'nothing';
          return;
        }
        throw new JsonArrayError(`expected an object or an array ${at()}, found ${shownByte(byte)}`);
      case 'comma-or-close':
        if (byte === COMMA) this.#expect = 'value';
        else if (byte === CLOSE_BRACKET) this.#expect = 'nothing';
        else throw new JsonArrayError(`expected ',' or ']' ${at()}, found ${shownByte(byte)}`);
        return;
      case 'nothing':
        throw new JsonArrayError(`expected nothing after the array's end ${at()}, found ${shownByte(byte)}`);
    }
  }

  #checkLength(bytes: number): void {
    if (bytes > this.#maxElementBytes) throw new JsonArrayError(`an element of the array is longer than ${this.#maxElementBytes} bytes`);
  }

  #complete(last: Buffer): void {
    this.#checkLength(this.#partBytes + last.length);
    const bytes = this.#parts.length === 0 ? last : Buffer.concat([...this.#parts, last]);
    this.#parts = [];
    this.#partBytes = 0;
    let element: unknown;
    try {
      element = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new JsonArrayError(`element ${this.#kept.length + 1} of the array is not JSON: ${(err as Error).message}`);
    }
    this.#kept.push(this.#keep(element));
  }
}

function shownByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}
