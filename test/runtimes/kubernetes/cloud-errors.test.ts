// The one table of network failures that EKS and GKE share (cloud-errors.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isNetworkFailure } from '../../../src/runtimes/kubernetes/cloud-errors.ts';

const NETWORK = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE'];

describe('cloud network failures', () => {
  it("counts the socket and DNS codes, undici's and TLS failures", () => {
    for (const code of [
      ...NETWORK,
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_SOCKET',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
    ]) {
      assert.equal(isNetworkFailure(code), true, code);
    }
  });

  it('does not count an absent code, a code that merely contains one of them, or local failures', () => {
    for (const code of [undefined, '', 'ENOENT', 'EACCES', 'ERR_INVALID_ARG_TYPE', 'xECONNREFUSED', 'ECONNREFUSEDx']) {
      assert.equal(isNetworkFailure(code), false, String(code));
    }
  });

  it('answers only on the whole code: no lowercase or padded variant of a listed one counts', () => {
    fc.assert(
      fc.property(fc.constantFrom(...NETWORK), fc.constantFrom(' ', '_', 'X'), (code, pad) => {
        assert.equal(isNetworkFailure(code.toLowerCase()), false);
        assert.equal(isNetworkFailure(pad + code), false);
        assert.equal(isNetworkFailure(code + pad), false);
      }),
    );
  });
});
