import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DOCKER_HUB_AUTH_ADDRESS, parseImageReference, registryServerAddress } from '../../src/spec/image-reference.ts';

const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/).filter((c) => c.length <= 30);
/** A path component that cannot be a domain: no '.', no ':', lower case, not 'localhost'. */
const plainComponent = fc.stringMatching(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/).filter((c) => c.length <= 30 && c !== 'localhost');
const path = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
const domain = fc.oneof(
  fc.tuple(component, component).map(([a, b]) => `${a}.${b}`),
  fc.tuple(plainComponent, fc.integer({ min: 1, max: 65535 })).map(([host, port]) => `${host}:${port}`),
  fc.constant('localhost'),
  fc.constant('127.0.0.1:5000'),
);

describe('parseImageReference', () => {
  it('reads domain, tag and digest from any well-formed reference', () => {
    fc.assert(
      fc.property(
        fc.option(domain, { nil: undefined }),
        path,
        fc.option(tag, { nil: undefined }),
        fc.option(digest, { nil: undefined }),
        (d, p, t, g) => {
          const uri = `${d === undefined ? '' : `${d}/`}${p}${t === undefined ? '' : `:${t}`}${g === undefined ? '' : `@${g}`}`;
          // A first component of the path that looks like a domain is one, as Docker reads it.
          const first = p.split('/')[0] ?? '';
          const pathDomain = d === undefined && p.includes('/') && (first.includes('.') || first === 'localhost') ? first : undefined;
          assert.deepEqual(parseImageReference(uri), { domain: d ?? pathDomain, tag: t, digest: g });
        },
      ),
    );
  });

  it('puts a reference without a domain-like first component on Docker Hub', () => {
    fc.assert(
      fc.property(fc.array(plainComponent, { minLength: 1, maxLength: 3 }), (parts) => {
        const uri = parts.join('/');
        assert.equal(parseImageReference(uri).domain, undefined);
        assert.equal(registryServerAddress(uri), DOCKER_HUB_AUTH_ADDRESS);
      }),
    );
  });

  it('takes a first component with an uppercase letter as a domain', () => {
    assert.equal(parseImageReference('Registry/app').domain, 'Registry');
    assert.equal(parseImageReference('app:Latest').domain, undefined);
  });
});

describe('registryServerAddress', () => {
  it('finds the registry that credentials are for', () => {
    assert.equal(registryServerAddress('nginx'), 'https://index.docker.io/v1/');
    assert.equal(registryServerAddress('nginxdemos/hello:latest'), 'https://index.docker.io/v1/');
    assert.equal(registryServerAddress('ghcr.io/org/img:tag'), 'ghcr.io');
    assert.equal(registryServerAddress('localhost/img'), 'localhost');
    assert.equal(registryServerAddress('127.0.0.1:5000/a/b@sha256:' + 'a'.repeat(64)), '127.0.0.1:5000');
  });

  it('is the domain of any reference that names one', () => {
    fc.assert(
      fc.property(domain, path, (d, p) => {
        assert.equal(registryServerAddress(`${d}/${p}`), d);
      }),
    );
  });
});
