// Where a field is in a JSON text, and where a text stops being JSON: against texts written here
// with noted places, in any layout, with keys that hold '.', '[', controls or more than the
// server shows of them, and paths written by the server's own formatPath.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonSyntaxError, locateField, positionAt } from '../../src/dashboard/json-locate.ts';
import { formatPath } from '../../src/spec/validate.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const key = fc.oneof(
  fc.stringMatching(/^[a-z_]{1,12}$/),
  fc.string({ unit: fc.constantFrom('a', '.', '[', ']', '0', ' ', '"', '\\', '\n', '\u0007', 'é', '😀'), minLength: 1, maxLength: 8 }),
  // Longer than a message shows: cut with '…'.
  fc.stringMatching(/^[a-z]{41,60}$/),
);
const { json } = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<Json>(null, true, false, 0, -1.5e3, 'text', 'a "quoted" \\ line\nbreak'),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(key, tie('json'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const layout = fc.record({
  indent: fc.constantFrom('', '  ', '\t', '    '),
  lineEnd: fc.constantFrom('\n', '\r\n', '\r'),
  beforeColon: fc.constantFrom('', ' ', '\n'),
  afterColon: fc.constantFrom('', ' ', '  '),
});

interface Place {
  path: Array<string | number>;
  offset: number;
}

/** `value` written with `layout`, and where each key (and each array item's value) starts. */
function write(
  value: Json,
  l: fc.Arbitrary<unknown> extends never ? never : { indent: string; lineEnd: string; beforeColon: string; afterColon: string },
) {
  let text = '';
  const places: Place[] = [];
  const nl = (depth: number) => (l.indent === '' ? '' : l.lineEnd + l.indent.repeat(depth));
  const go = (v: Json, path: Array<string | number>, depth: number) => {
    if (Array.isArray(v)) {
      text += '[';
      v.forEach((item, i) => {
        if (i > 0) text += ',';
        text += nl(depth + 1);
        places.push({ path: [...path, i], offset: text.length });
        go(item, [...path, i], depth + 1);
      });
      if (v.length > 0) text += nl(depth);
      text += ']';
    } else if (v !== null && typeof v === 'object') {
      text += '{';
      Object.entries(v).forEach(([k, item], i) => {
        if (i > 0) text += ',';
        text += nl(depth + 1);
        places.push({ path: [...path, k], offset: text.length });
        text += `${JSON.stringify(k)}${l.beforeColon}:${l.afterColon}`;
        go(item, [...path, k], depth + 1);
      });
      if (Object.keys(v).length > 0) text += nl(depth);
      text += '}';
    } else text += JSON.stringify(v);
  };
  go(value, [], 0);
  return { text, places };
}

describe('where a field is in the JSON text', () => {
  it('finds the key of any field (the value of an array item) at its line and column, by the path the server writes', () => {
    fc.assert(
      fc.property(json, layout, fc.nat(), (value, l, pick) => {
        const { text, places } = write(value, l);
        assert.deepEqual(JSON.parse(text), value);
        if (places.length === 0) return;
        const target = places[pick % places.length]!;
        const path = formatPath(target.path);
        const found = locateField(text, path);
        assert.ok(found, path);
        assert.equal(found.exact, true, path);
        // Keys that the server shows alike (cut short) or paths that read alike ('a.b' and a > b) are all right answers.
        const alike = places.filter((p) => formatPath(p.path) === path).map((p) => p.offset);
        assert.ok(alike.includes(found.offset), `${path}: ${found.offset} not in ${alike.join(', ')}`);
        const before = text.slice(0, found.offset);
        const lines = before.split(/\r\n|\r|\n/);
        assert.equal(found.line, lines.length);
        assert.equal(found.column, lines.at(-1)!.length + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('for a field that the text lacks, points at the nearest field that holds it, not exact', () => {
    fc.assert(
      fc.property(json, layout, fc.nat(), (value, l, pick) => {
        const { text, places } = write(value, l);
        if (places.length === 0) return;
        const target = places[pick % places.length]!;
        const path = formatPath([...target.path, 'zz_missing_field', 0]);
        // Unless the text has such a field after all.
        if (places.some((p) => formatPath(p.path) === formatPath([...target.path, 'zz_missing_field']))) return;
        const found = locateField(text, path);
        assert.ok(found);
        assert.equal(found.exact, false);
        const alike = places.filter((p) => formatPath(p.path) === formatPath(target.path)).map((p) => p.offset);
        assert.ok(alike.includes(found.offset), path);
      }),
      { numRuns: 300 },
    );
  });

  it('the server paths of a real spec: fields, array items, nested keys, the last of equal keys', () => {
    const text = [
      '{',
      '  "process_name": "web",',
      '  "container": {',
      '    "image_uri": "nginx",',
      '    "ports": [',
      '      { "container_port": 80 },',
      '      {',
      '        "container_port": 0,',
      '        "host_port": 8080',
      '      }',
      '    ],',
      '    "env": [{ "name": "A", "value": { "secret_name": "s", "extra": 1 } }]',
      '  },',
      '  "process_name": "api"',
      '}',
    ].join('\n');
    const line = (path: string) => locateField(text, path)?.line;
    assert.equal(line('container.ports[1].container_port'), 8);
    assert.equal(line('container.ports[1].host_port'), 9);
    assert.equal(line('container.ports[1]'), 7);
    assert.equal(line('container.env[0].value.extra'), 12);
    assert.equal(locateField(text, 'container.env[0].value.extra')?.column, 59);
    assert.equal(line('process_name'), 14);
    assert.deepEqual(locateField(text, 'container.resource_limit.cpu_vcpu'), { line: 3, column: 3, offset: 29, exact: false });
    assert.equal(locateField(text, 'container.ports[7]')?.line, 5);
    assert.equal(locateField(text, ''), undefined);
    assert.equal(locateField('{"a": ', 'a'), undefined);
  });
});

describe('where a text stops being JSON', () => {
  it('finds a problem exactly when JSON.parse does, for JSON texts and broken ones', () => {
    const broken = fc
      .tuple(json, layout, fc.nat(), fc.constantFrom('', '#', ',', '}', ']', '"', '{', '\n', 'x', ':', '\\'))
      .map(([v, l, at, insert]) => {
        const { text } = write(v, l);
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + insert + text.slice(cut + (insert === '' ? 1 : 0));
      });
    fc.assert(
      fc.property(fc.oneof(broken, fc.string({ maxLength: 20 })), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const error = jsonSyntaxError(text);
        assert.equal(error === undefined, valid, `${JSON.stringify(text)}: ${error?.message}`);
        if (error) {
          assert.ok(error.position.offset >= 0 && error.position.offset <= text.length);
          assert.deepEqual(error.position, positionAt(text, error.position.offset));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('says what and where', () => {
    const error = jsonSyntaxError('{\n  "a": 1\n  "b": 2\n}');
    assert.ok(error);
    assert.equal(error.message, "expected ',' or '}' after a value, found '\"' at line 3, column 3");
    assert.deepEqual(error.position, { line: 3, column: 3, offset: 13 });
    assert.match(jsonSyntaxError('{"a": "x\ny"}')!.message, /line break.* at line 1, column 9/);
    assert.match(jsonSyntaxError('')!.message, /expected a value, found the end of the text at line 1, column 1/);
  });
});
