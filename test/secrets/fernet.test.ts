import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Fernet, InvalidFernetToken } from '../../src/secrets/fernet.ts';

// The "generate" vector of the Fernet spec (github.com/fernet/spec, generate.json); Python's
// cryptography gives the same token for these inputs.
const SPEC = {
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: Date.parse('1985-10-26T01:20:00-07:00') / 1000,
  iv: Uint8Array.from({ length: 16 }, (_, i) => i),
  src: 'hello',
};

function flipCharAt(token: string, index: number): string {
  const c = token[index] === 'A' ? 'B' : 'A';
  return token.slice(0, index) + c + token.slice(index + 1);
}

describe('Fernet', () => {
  it('makes the spec test vector token, padding included', () => {
    const fernet = Fernet.fromBase64Key(SPEC.secret);
    assert.equal(fernet.encrypt(SPEC.src, { timestamp: SPEC.now, iv: SPEC.iv }), SPEC.token);
  });

  it('reads the spec test vector token with and without its padding', () => {
    const fernet = Fernet.fromBase64Key(SPEC.secret);
    assert.equal(fernet.decrypt(SPEC.token).toString('utf8'), SPEC.src);
    assert.equal(fernet.decrypt(SPEC.token.replace(/=+$/, '')).toString('utf8'), SPEC.src);
    assert.equal(fernet.decrypt(`${SPEC.token}\n`).toString('utf8'), SPEC.src, 'a trailing newline is tolerated');
    assert.equal(fernet.timestampOf(SPEC.token), SPEC.now);
  });

  it('round-trips every plaintext length across block boundaries, and bytes that are not text', () => {
    const fernet = new Fernet(randomBytes(32));
    for (let n = 0; n <= 48; n++) {
      const data = randomBytes(n);
      const token = fernet.encrypt(data);
      assert.match(token, /^[A-Za-z0-9_-]+={0,2}$/);
      assert.equal(token.length % 4, 0, 'padded to a multiple of 4 as Python writes it');
      assert.deepEqual(fernet.decrypt(token), data);
    }
  });

  it('uses a fresh IV each time', () => {
    const fernet = new Fernet(randomBytes(32));
    assert.notEqual(fernet.encrypt('same'), fernet.encrypt('same'));
  });

  it('rejects a token made with another key', () => {
    const token = new Fernet(randomBytes(32)).encrypt('secret value');
    assert.throws(() => new Fernet(randomBytes(32)).decrypt(token), InvalidFernetToken);
  });

  it('rejects a token altered anywhere: version, timestamp, IV, ciphertext, HMAC', () => {
    const fernet = new Fernet(randomBytes(32));
    const token = fernet.encrypt('secret value');
    for (const index of [0, 3, 12, 30, 50, token.length - 5]) {
      assert.throws(() => fernet.decrypt(flipCharAt(token, index)), InvalidFernetToken, `altered at ${index}`);
    }
  });

  it('rejects truncated, empty and non-base64 tokens without naming the plaintext', () => {
    const fernet = new Fernet(randomBytes(32));
    const token = fernet.encrypt('hunter2');
    for (const bad of [
      '',
      'gA',
      token.slice(0, 40),
      token.slice(0, -4),
      `${token}AAAA`,
      token.replace(/[A-Za-z]/, '+'),
      `${token.slice(0, 10)} ${token.slice(10)}`,
      `${token}=`,
    ]) {
      assert.throws(
        () => fernet.decrypt(bad),
        (err: unknown) => err instanceof InvalidFernetToken && !err.message.includes('hunter2'),
        `token ${JSON.stringify(bad)}`,
      );
    }
  });

  it('refuses keys that are not 32 bytes', () => {
    assert.throws(() => new Fernet(randomBytes(16)), RangeError);
    assert.throws(() => Fernet.fromBase64Key('not a key'), RangeError);
  });
});
