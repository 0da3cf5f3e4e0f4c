// What a problem of type says, for the process spec and the server config alike: a missing field
// "is required", a field of the wrong type names the type expected and what was given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerConfig } from '../../src/config/schema.ts';
import type { HydroplaneError } from '../../src/errors.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { parseOrThrow } from '../../src/spec/validate.ts';

function problemAt(schema: typeof ProcessSpec | typeof ServerConfig, raw: unknown, path: string): string | undefined {
  try {
    parseOrThrow(schema, raw, { subject: 'test' });
  } catch (error) {
    return (error as HydroplaneError).fields?.find((f) => f.path === path)?.message;
  }
  return undefined;
}

/** Values of every JSON kind but the one named. */
function notA(kind: 'string' | 'object'): fc.Arbitrary<unknown> {
  const all = {
    string: fc.string({ maxLength: 60 }),
    number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    boolean: fc.boolean(),
    null: fc.constant(null),
    list: fc.array(fc.integer(), { maxLength: 3 }),
    object: fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  };
  return fc.oneof(
    ...Object.entries(all)
      .filter(([k]) => k !== kind)
      .map(([, v]) => v as fc.Arbitrary<unknown>),
  );
}

describe('type problems', () => {
  it('name the type expected and what was given, never "is required", when the field is there', () => {
    fc.assert(
      fc.property(notA('string'), (value) => {
        const message = problemAt(ProcessSpec, { process_name: value, container: { image_uri: 'nginx' } }, 'process_name');
        assert.ok(message !== undefined);
        assert.match(message, /^expected a string, got /);
        assert.ok(message.length <= 200, message);
      }),
    );
    fc.assert(
      fc.property(notA('object'), (value) => {
        const message = problemAt(ServerConfig, { runtime: value }, 'runtime');
        assert.ok(message !== undefined);
        assert.match(message, /^expected an object/);
      }),
    );
  });

  it('say what the value was, briefly and escaped', () => {
    assert.equal(problemAt(ServerConfig, { runtime: 'docker' }, 'runtime'), 'expected an object (of key: value), got text');
    assert.equal(
      problemAt(ServerConfig, { runtime: { runtime_type: 'kubernetes', namespace: 5 } }, 'runtime.namespace'),
      'expected a string, got a number (5)',
    );
    const long = problemAt(ProcessSpec, { process_name: ['x'], container: { image_uri: 'nginx' } }, 'process_name');
    assert.equal(long, 'expected a string, got a list');
    const control = problemAt(ServerConfig, { runtime: 'a\u001b[2Jb' }, 'runtime');
    assert.ok(control !== undefined && !control.includes('\u001b'), control);
  });

  it('never repeat text that was given, which may be a secret written where its reference belongs', () => {
    fc.assert(
      // A marker that no message holds by chance, then any text.
      fc.property(
        fc.string({ maxLength: 40 }).map((s) => `hp-secret-${s}`),
        (secret) => {
          const where: Array<[typeof ProcessSpec | typeof ServerConfig, unknown, string]> = [
            [ServerConfig, { runtime: { runtime_type: 'docker' }, api_token: secret }, 'api_token'],
            [ProcessSpec, { process_name: 'p', container: { image_uri: 'nginx', username: 'u', password: secret } }, 'container.password'],
          ];
          for (const [schema, raw, path] of where) {
            let said = '';
            try {
              parseOrThrow(schema, raw, { subject: 'test' });
            } catch (error) {
              said = JSON.stringify({ message: (error as HydroplaneError).message, fields: (error as HydroplaneError).fields });
            }
            assert.ok(said.includes(path), said);
            assert.ok(!said.includes(JSON.stringify(secret).slice(1, -1)), `the value is repeated: ${said}`);
          }
        },
      ),
    );
  });

  it('keep "is required" for a field that is missing', () => {
    assert.equal(problemAt(ProcessSpec, { container: { image_uri: 'nginx' } }, 'process_name'), 'is required');
    assert.equal(problemAt(ServerConfig, {}, 'runtime'), 'is required');
  });
});
