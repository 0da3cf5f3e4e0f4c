import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { SPEC_DIGEST_PATTERN, canonicalJson, specDigest } from '../../src/spec/spec-digest.ts';
import { REAL_CHANGES, specInput, variants } from '../support/spec-arbitraries.ts';

const digestOf = (raw: unknown) => specDigest(ProcessSpec.parse(raw));

describe('spec digest', () => {
  it('is sha256: and 64 hex digits, the same for the same spec', () => {
    const spec = { process_name: 'web', container: { image_uri: 'nginx' } };
    assert.match(digestOf(spec), SPEC_DIGEST_PATTERN);
    assert.equal(digestOf(spec), digestOf(structuredClone(spec)));
  });

  it('does not change with key order, spelt-out defaults or numbers written as strings', () => {
    fc.assert(
      fc.property(
        specInput().chain((spec) => fc.tuple(fc.constant(spec), variants(spec))),
        ([spec, variant]) => {
          assert.equal(digestOf(variant), digestOf(spec));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changes with any real change of the spec', () => {
    fc.assert(
      fc.property(specInput(), fc.constantFrom(...REAL_CHANGES), (spec, [, change]) => {
        assert.notEqual(digestOf(change(spec)), digestOf(spec));
      }),
      { numRuns: 300 },
    );
  });

  it('tells apart any two specs that validate differently', () => {
    fc.assert(
      fc.property(specInput(), specInput(), (a, b) => {
        const same = canonicalJson(ProcessSpec.parse(a)) === canonicalJson(ProcessSpec.parse(b));
        assert.equal(digestOf(a) === digestOf(b), same);
      }),
      { numRuns: 300 },
    );
  });

  it('treats no ports as ports: [], "80" as 80, and a null group as none', () => {
    const base = { process_name: 'web', container: { image_uri: 'nginx' } };
    assert.equal(digestOf({ ...base, container: { ...base.container, ports: [] } }), digestOf(base));
    assert.equal(
      digestOf({ ...base, container: { ...base.container, ports: [{ container_port: '80' }] } }),
      digestOf({ ...base, container: { ...base.container, ports: [{ container_port: 80, protocol: 'tcp' }] } }),
    );
    assert.equal(digestOf({ ...base, group: null }), digestOf(base));
  });

  it('digests a secret as its reference, so the spec never holds its value', () => {
    const withSecret = (key: string) => ({
      process_name: 'web',
      container: { image_uri: 'nginx', env: [{ name: 'TOKEN', value: { secret_name: 'api', key } }] },
    });
    assert.notEqual(digestOf(withSecret('a')), digestOf(withSecret('b')));
    assert.match(canonicalJson(ProcessSpec.parse(withSecret('a'))), /"value":\{"key":"a","secret_name":"api"\}/);
  });

  it('writes canonical JSON: sorted keys at every depth, no null members, arrays in order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } }), '{"a":{"d":[2,{"y":"x"}]},"b":1}');
    assert.throws(() => canonicalJson({ a: Number.NaN }), TypeError);
  });
});

describe('spec digest across versions', () => {
  // Pinned: a digest recorded by one server version is compared by the next. A new field with a
  // default, a changed default or another canonical form changes these, and so would make the
  // first PUT after an upgrade replace every process: a change here must be deliberate and said
  // in the release notes (docs/apply.md, "Across server versions").
  const PINNED: [string, unknown, string][] = [
    [
      'a minimal spec',
      { process_name: 'nginx', container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80, host_port: 8080 }] } },
      'sha256:ddf1bca5744a82ea0d5d90fa27105e3b7bc7d5770705d7fad8b0cbc6b13cda43',
    ],
    [
      'a spec with a group and a lifetime',
      {
        process_name: 'nginx-demo',
        group: 'demos',
        max_age_minutes: 60,
        container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80, host_port: 8081 }] },
      },
      'sha256:da62f4507438b58b68112e3bef6a40a569673f8de8b4ddca435aa718765d76c0',
    ],
  ];
  for (const [what, input, digest] of PINNED) {
    it(`keeps the digest of ${what}`, () => {
      assert.equal(specDigest(ProcessSpec.parse(input)), digest);
    });
  }
});
