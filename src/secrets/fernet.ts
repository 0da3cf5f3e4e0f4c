// Fernet tokens, byte for byte as Python's `cryptography` writes them, so that a local secret store
// made by the original Hydroplane opens here and the reverse.
// Spec: https://github.com/fernet/spec/blob/master/Spec.md
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 0x80;
export const FERNET_KEY_BYTES = 32;
const HALF_KEY = 16;
const TIMESTAMP_BYTES = 8;
const IV_BYTES = 16;
const HMAC_BYTES = 32;
const BLOCK = 16;
const HEADER_BYTES = 1 + TIMESTAMP_BYTES + IV_BYTES;

/** A token that is malformed, was altered, or was made with another key. Never carries plaintext. */
export class InvalidFernetToken extends Error {
  override readonly name = 'InvalidFernetToken';
}

export interface EncryptOptions {
  /** Seconds since the epoch to record in the token; default now. */
  timestamp?: number;
  /** Fixed IV, for test vectors only; default 16 random bytes. */
  iv?: Uint8Array;
}

export class Fernet {
  readonly #signingKey: Buffer;
  readonly #encryptionKey: Buffer;

  /** `key`: the 32 raw key bytes (not the base64 text that Python's Fernet() takes). */
  constructor(key: Uint8Array) {
    if (key.length !== FERNET_KEY_BYTES) {
      throw new RangeError(`a Fernet key is ${FERNET_KEY_BYTES} bytes, not ${key.length}`);
    }
    const bytes = Buffer.from(key);
    this.#signingKey = bytes.subarray(0, HALF_KEY);
    this.#encryptionKey = bytes.subarray(HALF_KEY);
  }

  /** A key in the text form Python's `Fernet.generate_key()` gives: URL-safe base64 of 32 bytes. */
  static fromBase64Key(key: string): Fernet {
    return new Fernet(decodeUrlSafeBase64(key.trim(), () => new RangeError('a Fernet key is URL-safe base64')));
  }

  /** The token, URL-safe base64 with '=' padding, as ASCII text. */
  encrypt(plaintext: Uint8Array | string, options: EncryptOptions = {}): string {
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const iv = options.iv ?? randomBytes(IV_BYTES);
    if (iv.length !== IV_BYTES) throw new RangeError(`a Fernet IV is ${IV_BYTES} bytes`);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);

    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(timestamp), 1);
    header.set(iv, 1 + TIMESTAMP_BYTES);

    // Node's cipher pads with PKCS7 by default, as the spec asks.
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const signed = Buffer.concat([header, cipher.update(data), cipher.final()]);
    const mac = createHmac('sha256', this.#signingKey).update(signed).digest();
    return Buffer.concat([signed, mac]).toString('base64url') + padding(signed.length + mac.length);
  }

  /** The plaintext bytes. Accepts the token with or without '=' padding and surrounding whitespace. */
  decrypt(token: string | Uint8Array): Buffer {
    return this.#open(token).plaintext;
  }

  /** When the token was made, in seconds since the epoch (authenticated like the rest). */
  timestampOf(token: string | Uint8Array): number {
    return this.#open(token).timestamp;
  }

  #open(token: string | Uint8Array): { plaintext: Buffer; timestamp: number } {
    const text = typeof token === 'string' ? token : Buffer.from(token).toString('latin1');
    const raw = decodeUrlSafeBase64(text.trim(), () => new InvalidFernetToken('the token is not URL-safe base64'));
    if (raw.length < HEADER_BYTES + BLOCK + HMAC_BYTES || (raw.length - HEADER_BYTES - HMAC_BYTES) % BLOCK !== 0) {
      throw new InvalidFernetToken('the token has the wrong length');
    }
    if (raw[0] !== VERSION) throw new InvalidFernetToken('the token is not a version 0x80 Fernet token');

    const signed = raw.subarray(0, raw.length - HMAC_BYTES);
    const mac = raw.subarray(raw.length - HMAC_BYTES);
    const expected = createHmac('sha256', this.#signingKey).update(signed).digest();
    if (!timingSafeEqual(mac, expected)) {
      throw new InvalidFernetToken('the token was altered or made with another key');
    }

    const iv = raw.subarray(1 + TIMESTAMP_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, iv);
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(signed.subarray(HEADER_BYTES)), decipher.final()]);
    } catch {
      // Only reachable when the signer also held the key and padded wrongly.
      throw new InvalidFernetToken('the token has bad padding');
    }
    return { plaintext, timestamp: Number(raw.readBigUInt64BE(1)) };
  }
}

function padding(byteLength: number): string {
  return '='.repeat((3 - (byteLength % 3)) % 3);
}

const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

// Buffer.from(s, 'base64url') silently skips characters outside the alphabet, so check first.
function decodeUrlSafeBase64(text: string, fail: () => Error): Buffer {
  if (!URL_SAFE_BASE64.test(text)) throw fail();
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) throw fail();
  if (text.length !== body.length && text.length % 4 !== 0) throw fail();
  return Buffer.from(body, 'base64url');
}
