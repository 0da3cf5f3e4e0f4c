import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JsonArrayError, JsonArraySplitter } from '../../../src/runtimes/docker/json-array-stream.ts';

/** Feeds `bytes` cut at `cuts` (any positions, also inside a character, a string or an escape). */
function split(bytes: Buffer, cuts: number[], options: { maxElementBytes?: number } = {}): unknown[] {
  const splitter = new JsonArraySplitter((element) => element, options);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    splitter.push(bytes.subarray(from, cut));
    from = cut;
  }
  return splitter.end();
}

// Objects and arrays holding every kind of JSON value, with strings of any Unicode (escapes,
// quotes, backslashes, characters of 2 to 4 bytes in UTF-8).
const value = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });
const element = fc.oneof(fc.dictionary(fc.string({ unit: 'binary' }), value, { maxKeys: 6 }), fc.array(value, { maxLength: 6 }));
const text = fc.record({
  elements: fc.array(element, { maxLength: 12 }),
  indent: fc.constantFrom(undefined, 0, 1, 2, '\t'),
  around: fc.constantFrom('', ' ', '\n', ' \r\n\t '),
});
const cuts = fc.array(fc.nat(), { maxLength: 20 });

function render(t: { elements: unknown[]; indent: number | string | undefined; around: string }): Buffer {
  return Buffer.from(`${t.around}${JSON.stringify(t.elements, null, t.indent)}${t.around}`, 'utf8');
}

describe('JsonArraySplitter', () => {
  it('gives each element of any array of objects and arrays, whatever the chunks', () => {
    fc.assert(
      fc.property(text, cuts, (t, c) => {
        const bytes = render(t);
        assert.deepEqual(split(bytes, c), JSON.parse(bytes.toString('utf8')));
      }),
      { numRuns: 300 },
    );
  });

  it('hands each element to keep once, in order, as soon as it is complete', () => {
    const seen: unknown[] = [];
    const splitter = new JsonArraySplitter((e) => {
      seen.push(e);
      return (e as { Id: string }).Id;
    });
    splitter.push(Buffer.from('[{"Id":"a","Names":["/x"]},{"Id":'));
    assert.deepEqual(seen, [{ Id: 'a', Names: ['/x'] }]);
    splitter.push(Buffer.from('"b\\"}"}]'));
    assert.deepEqual(splitter.end(), ['a', 'b"}']);
  });

  it('refuses any text cut short, with the place it ended', () => {
    fc.assert(
      fc.property(text, fc.nat(), cuts, (t, n, c) => {
        const bytes = render(t);
        const end = bytes.lastIndexOf(']');
        const short = bytes.subarray(0, n % (end + 1));
        assert.throws(() => split(short, c), JsonArrayError);
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with JSON.parse on texts one edit away from an array: the same elements, or an error', () => {
    const edit = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 2 }),
      insert: fc.constantFrom('', '[', ']', '{', '}', ',', '"', '\\', ' ', 'x', '1'),
    });
    fc.assert(
      fc.property(text, edit, cuts, (t, e, c) => {
        const original = render(t).toString('utf8');
        const at = e.at % (original.length + 1);
        // Through UTF-8 and back, as the bytes would come: an edit inside a surrogate pair leaves a U+FFFD.
        const edited = Buffer.from(original.slice(0, at) + e.insert + original.slice(at + e.remove), 'utf8').toString('utf8');
        let expected: unknown;
        try {
          expected = JSON.parse(edited);
        } catch {
          expected = undefined;
        }
        const holdsOnlyContainers = Array.isArray(expected) && expected.every((x) => typeof x === 'object' && x !== null);
        if (holdsOnlyContainers) assert.deepEqual(split(Buffer.from(edited, 'utf8'), c), expected);
        else assert.throws(() => split(Buffer.from(edited, 'utf8'), c), JsonArrayError);
      }),
      { numRuns: 400 },
    );
  });

  it('says what is wrong and where', () => {
    assert.throws(() => split(Buffer.from('{"message":"no"}'), []), {
      name: 'JsonArrayError',
      message: "expected '[' at byte 0, found '{'",
    });
    assert.throws(() => split(Buffer.from('[{}, 1]'), []), { message: "expected an object or an array at byte 5, found '1'" });
    assert.throws(() => split(Buffer.from('[{} {}]'), []), { message: "expected ',' or ']' at byte 4, found '{'" });
    assert.throws(() => split(Buffer.from('[{},]'), []), { message: "expected an object or an array at byte 4, found ']'" });
    assert.throws(() => split(Buffer.from('[] x'), []), { message: "expected nothing after the array's end at byte 3, found 'x'" });
    assert.throws(() => split(Buffer.from('[{"a":1}'), []), { message: 'the text ended after 8 bytes: the array was not closed' });
    assert.throws(() => split(Buffer.from(''), []), { message: 'the text ended after 0 bytes: no array at all' });
    assert.throws(() => split(Buffer.from('[{"a":tru}]'), []), /^JsonArrayError: element 1 of the array is not JSON: /);
  });

  it('bounds one element, wherever the chunks are cut', () => {
    const big = Buffer.from(`[{"a":"${'x'.repeat(100)}"}]`);
    assert.throws(() => split(big, [10, 50], { maxElementBytes: 64 }), { message: 'an element of the array is longer than 64 bytes' });
    assert.deepEqual(split(big, [10, 50], { maxElementBytes: 200 }), JSON.parse(big.toString()));
  });

  it('keeps a copy of a chunk that ends inside an element, not the chunk itself', () => {
    const splitter = new JsonArraySplitter((e) => e);
    const chunk = Buffer.from('[{"a":"bc');
    splitter.push(chunk);
    chunk.fill(0x20);
    splitter.push(Buffer.from('d"}]'));
    assert.deepEqual(splitter.end(), [{ a: 'bcd' }]);
  });
});
