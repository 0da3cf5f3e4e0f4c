import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createSseParser, type SseMessage } from '../../src/dashboard/sse.ts';

// A field value holds anything but line breaks (the format has no escape for them).
const value = fc.string({ unit: fc.constantFrom('a', 'é', ' ', ':', '{', '"', '\u2028', '😀', 'x', '\0') });
const lineEnd = fc.constantFrom('\n', '\r', '\r\n');

interface Written {
  event: string | undefined;
  id: string | undefined;
  data: string[];
  comments: string[];
}

const written: fc.Arbitrary<Written> = fc.record({
  event: fc.option(
    value.filter((v) => v !== ''),
    { nil: undefined },
  ),
  id: fc.option(value, { nil: undefined }),
  // At least one data line: a message without data is not dispatched (tested apart).
  data: fc.array(value, { minLength: 1, maxLength: 4 }),
  comments: fc.array(value, { maxLength: 2 }),
});

/** The text of the messages with the given line ends, and what a reader must get from it. */
function serialize(messages: Written[], ends: string[]): { text: string; expected: SseMessage[] } {
  let n = 0;
  let previous = '';
  // A '\r' end then a '\n' end would be one '\r\n' end: that '\n' is written as '\r\n'.
  const end = () => {
    const next = ends[n++ % ends.length]!;
    previous = previous === '\r' && next === '\n' ? '\r\n' : next;
    return previous;
  };
  let text = '';
  let id = '';
  const expected: SseMessage[] = [];
  for (const m of messages) {
    for (const c of m.comments) text += `:${c}${end()}`;
    if (m.event !== undefined) text += `event: ${m.event}${end()}`;
    if (m.id !== undefined) {
      text += `id: ${m.id}${end()}`;
      if (!m.id.includes('\0')) id = m.id;
    }
    // With and without the one optional space after the colon (which a value starting with a space needs).
    m.data.forEach((d, i) => (text += i % 2 === 0 || d.startsWith(' ') ? `data: ${d}${end()}` : `data:${d}${end()}`));
    text += end();
    expected.push({ event: m.event ?? 'message', data: m.data.join('\n'), id });
  }
  return { text, expected };
}

/** `text` cut at the given places (any place: inside a field, between \r and \n, inside a surrogate pair's neighbours). */
function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    out.push(text.slice(from, p));
    from = p;
  }
  out.push(text.slice(from));
  return out;
}

function read(chunks: string[]) {
  const parser = createSseParser();
  const messages = chunks.flatMap((c) => parser.push(c));
  return { messages, parser };
}

describe('the SSE parser', () => {
  it('reads any messages, with any line ends, in chunks split anywhere, as the whole text at once', () => {
    fc.assert(
      fc.property(
        fc.array(written, { maxLength: 6 }),
        fc.array(lineEnd, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, ends, at) => {
          const { text, expected } = serialize(messages, ends);
          const whole = read([text]);
          assert.deepEqual(whole.messages, expected);
          assert.deepEqual(read(cut(text, at)).messages, expected);
          // One character at a time, too (a decoder never splits one, so neither does this).
          assert.deepEqual(read(text.match(/[\s\S]/gu) ?? []).messages, expected);
          assert.equal(
            whole.parser.comments,
            messages.reduce((n, m) => n + m.comments.length, 0),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the last id for Last-Event-ID, also without a message after it, and ignores an id with NUL', () => {
    const parser = createSseParser();
    assert.deepEqual(parser.push('id: 7\ndata: a\n\nid: 8\n\n'), [{ event: 'message', data: 'a', id: '7' }]);
    assert.equal(parser.lastEventId, '8');
    parser.push('id: 9\0\n\n');
    assert.equal(parser.lastEventId, '8');
    // An empty id resets it.
    parser.push('id\n\n');
    assert.equal(parser.lastEventId, '');
  });

  it('does not dispatch a message without data, nor one that the stream has not ended yet', () => {
    const parser = createSseParser();
    assert.deepEqual(parser.push('event: process\n\n'), []);
    // The event type of the message without data does not carry over.
    assert.deepEqual(parser.push('data: x\n\n'), [{ event: 'message', data: 'x', id: '' }]);
    assert.deepEqual(parser.push('event: process\ndata: y\n'), []);
    assert.deepEqual(parser.push('\r\n'), [{ event: 'process', data: 'y', id: '' }]);
  });

  it('reads an empty data line as an empty line of data, a field without a colon as empty, and ignores unknown fields', () => {
    const parser = createSseParser();
    assert.deepEqual(parser.push('data\ndata:\ndata: \nfoo: bar\n\n'), [{ event: 'message', data: '\n\n', id: '' }]);
    // Only the first space after the colon goes.
    assert.deepEqual(parser.push('data:  two\n\n'), [{ event: 'message', data: ' two', id: '' }]);
  });

  it('counts heartbeats, reads retry when it is digits only, and drops a leading byte order mark', () => {
    const parser = createSseParser();
    assert.deepEqual(parser.push('\ufeff: hi\nretry: 2500\n\n: again\r\n'), []);
    assert.equal(parser.comments, 2);
    assert.equal(parser.retry, 2500);
    parser.push('retry: 1s\n');
    assert.equal(parser.retry, 2500);
    assert.deepEqual(parser.push('\ufeffdata: z\n\n'), [], 'a BOM later is part of the field name, an unknown field');
  });

  it('takes \\r then \\n in the next chunk as one line end, and \\r then \\r as two', () => {
    assert.deepEqual(read(['data: a\r', '\ndata: b\r', '\r']).messages, [{ event: 'message', data: 'a\nb', id: '' }]);
  });
});
