// What a message shows of a value from a request: nothing a terminal or a reader's eye would take
// for something else (controls, separators, bidirectional and invisible formatting), and short.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SHOWN_MAX, escapeControls, shown } from '../../src/spec/shown.ts';

const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const hiddenChar = fc.constantFrom(
  ...[0x00, 0x07, 0x0a, 0x1b, 0x7f, 0x85, 0x9b, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069, 0xfeff].map((c) =>
    String.fromCharCode(c),
  ),
);
const text = fc
  .array(fc.oneof(hiddenChar, fc.string({ unit: 'grapheme', maxLength: 3 }), fc.constant('\\')), { maxLength: 60 })
  .map((parts) => parts.join(''));

describe('shown values', () => {
  it('escape every control and invisible formatting character, and only those', () => {
    fc.assert(
      fc.property(text, (value) => {
        const out = escapeControls(value);
        assert.doesNotMatch(out, HIDDEN);
        // Unescaping gives the value back: nothing else was changed.
        assert.equal(
          out.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          value.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        );
      }),
    );
    assert.equal(
      escapeControls('a\u202eb\u200dc'),
      'a\\u202eb\u200dc',
      'a right-to-left override is escaped; the zero-width joiner of emoji is not',
    );
  });

  it('are short: at most the limit and an ellipsis, escapes included', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 8, max: 80 }), (value, max) => {
        const out = shown(value, max);
        assert.doesNotMatch(out, HIDDEN);
        assert.ok(out.length <= max + 1, `${out.length} > ${max} + 1`);
      }),
    );
    assert.equal(shown('x'.repeat(1000)).length, SHOWN_MAX + 1);
  });
});
