/**
 * Ed25519 keys as this project writes them:
 * - a public key is the base64 of its raw 32 bytes;
 * - a private key is `ed25519:` followed by the base64 of its raw 32-byte seed;
 * - a key id is the lowercase hex SHA-256 of the raw 32-byte public key.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ValidationError } from './errors.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
export const PRIVATE_KEY_PREFIX = 'ed25519:';

export type KeyErrorCode = 'KEY_INVALID';

export interface PublicKeyInfo {
  keyid: string;
  /** base64 of the raw 32-byte key */
  public_key: string;
  key: KeyObject;
}

export interface SigningKey extends PublicKeyInfo {
  privateKey: KeyObject;
}

export function keyIdOf(rawPublicKey: Buffer): string {
  return createHash('sha256').update(rawPublicKey).digest('hex');
}

function strictBase64(text: string, bytes: number, what: string): Buffer {
  const t = text.trim();
  const buf = Buffer.from(t, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || buf.length !== bytes || buf.toString('base64') !== t) {
    // The value itself is never echoed: it may be a secret.
    throw new ValidationError<KeyErrorCode>(
      'KEY_INVALID',
      `${what} is not valid: expected the base64 of ${bytes} raw bytes, as "mngd-release keygen" prints`,
    );
  }
  return buf;
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

export function publicKeyFromBase64(text: string): PublicKeyInfo {
  const raw = strictBase64(text, 32, 'public key');
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  return { keyid: keyIdOf(raw), public_key: raw.toString('base64'), key };
}

/** Parses one private key (`ed25519:<base64 seed>`). Errors never contain the key. */
export function signingKeyFromText(text: string): SigningKey {
  const t = text.trim();
  if (!t.startsWith(PRIVATE_KEY_PREFIX)) {
    throw new ValidationError<KeyErrorCode>(
      'KEY_INVALID',
      `signing key is not valid: expected "${PRIVATE_KEY_PREFIX}<base64 of a 32-byte seed>", as "mngd-release keygen" prints`,
    );
  }
  const seed = strictBase64(t.slice(PRIVATE_KEY_PREFIX.length), 32, 'signing key');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const key = createPublicKey(privateKey);
  const raw = rawPublicKey(key);
  return { keyid: keyIdOf(raw), public_key: raw.toString('base64'), key, privateKey };
}

/** Parses a list of private keys separated by commas, whitespace or newlines (key rotation). */
export function signingKeysFromText(text: string): SigningKey[] {
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map(signingKeyFromText);
}

export function generateSigningKey(): { privateKeyText: string; keyid: string; public_key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const seed = der.subarray(der.length - 32);
  const raw = rawPublicKey(publicKey);
  return {
    privateKeyText: PRIVATE_KEY_PREFIX + seed.toString('base64'),
    keyid: keyIdOf(raw),
    public_key: raw.toString('base64'),
  };
}
