import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pullArguments } from '../../../src/runtimes/docker/engine-client.ts';

describe('pullArguments', () => {
  it("names 'latest' when the reference has neither tag nor digest", () => {
    assert.deepEqual(pullArguments('nginx'), { fromImage: 'nginx', tag: 'latest' });
    assert.deepEqual(pullArguments('127.0.0.1:5000/app'), { fromImage: '127.0.0.1:5000/app', tag: 'latest' });
    assert.deepEqual(pullArguments('nginx:1.25'), { fromImage: 'nginx:1.25', tag: undefined });
    assert.deepEqual(pullArguments('127.0.0.1:5000/app:2'), { fromImage: '127.0.0.1:5000/app:2', tag: undefined });
    const digest = 'img@sha256:' + 'b'.repeat(64);
    assert.deepEqual(pullArguments(digest), { fromImage: digest, tag: undefined });
  });

  it('passes the reference on whole, and adds a tag only to one without tag or digest', () => {
    const name = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+)*$/).filter((n) => n.length <= 40);
    const registry = fc.option(fc.constantFrom('localhost:5000/', 'ghcr.io/', 'registry.example:443/'), { nil: '' });
    const suffix = fc.option(fc.constantFrom(':1', ':latest', ':v2.0', `@sha256:${'c'.repeat(64)}`, `:1@sha256:${'d'.repeat(64)}`), {
      nil: '',
    });
    fc.assert(
      fc.property(registry, name, suffix, (r, n, s) => {
        const image = `${r}${n}${s}`;
        assert.deepEqual(pullArguments(image), { fromImage: image, tag: s === '' ? 'latest' : undefined });
      }),
    );
  });
});
