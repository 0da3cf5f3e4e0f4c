// An address shown in a message keeps everything but the password: generated addresses with any
// user part, read the way URL parsing reads them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withoutPassword } from '../src/address-text.ts';

const chars = (set: string) => fc.constantFrom(...set.split(''));

describe('withoutPassword', () => {
  it('hides the password that URL parsing finds, and keeps the host, the port and the path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('http://', 'https://', 'tcp://', 'ssh://', ''),
        fc.string({ unit: chars('abXY09._~-!$&%@'), maxLength: 8 }),
        fc.string({ unit: chars('abXY09._~-!$&@:;='), minLength: 1, maxLength: 12 }),
        fc.constantFrom('127.0.0.1', 'hp.example', '[::1]'),
        fc.constantFrom('', ':2376'),
        fc.constantFrom('', '/', '/v1.41?x=@:', '#@'),
        (scheme, user, password, host, port, path) => {
          const secret = `Zq9${password}`;
          const address = `${scheme}${user}:${secret}@${host}${port}${path}`;
          const parsed = new URL(scheme === '' ? `http://${address}` : address);
          assert.notEqual(parsed.password, '', address);
          const shown = withoutPassword(address);
          assert.ok(!shown.includes(secret), `${address} shown as ${shown}`);
          const again = new URL(scheme === '' ? `http://${shown}` : shown);
          assert.equal(again.host, parsed.host, address);
          assert.equal(again.pathname + again.search + again.hash, parsed.pathname + parsed.search + parsed.hash, address);
          assert.equal(again.username, parsed.username, address);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves an address without a password as it is', () => {
    for (const address of [
      '127.0.0.1:8000',
      'http://hp.example/x?a=b@c',
      'user@host:1',
      'unix:///var/run/docker.sock',
      '/var/run/docker.sock',
      'a:b',
    ])
      assert.equal(withoutPassword(address), address);
  });
});
