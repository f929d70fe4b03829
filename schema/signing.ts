/**
 * Signing and verifying a manifest envelope: Ed25519 over the RFC 8785 canonical JSON of
 * `signed`, base64 signatures, each tagged with the signer's key id.
 */
import { sign, verify } from 'node:crypto';
import { canonicalBytes } from './canonical.js';
import type { PublicKeyInfo, SigningKey } from './keys.js';

export interface Signature {
  keyid: string;
  sig: string;
}

export interface Envelope<T> {
  signed: T;
  signatures: Signature[];
}

export function signEnvelope<T>(signed: T, keys: readonly SigningKey[]): Envelope<T> {
  const bytes = canonicalBytes(signed);
  const signatures = [...keys]
    .sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0))
    .map((k) => ({ keyid: k.keyid, sig: sign(null, bytes, k.privateKey).toString('base64') }));
  return { signed, signatures };
}

/**
 * Key ids of the trusted keys that made a valid signature over `signed`. A signature by an
 * unknown key, or one that does not verify, is ignored: one valid trusted signature suffices.
 */
export function validSigners(envelope: Envelope<unknown>, trusted: readonly PublicKeyInfo[]): string[] {
  const bytes = canonicalBytes(envelope.signed);
  const byId = new Map(trusted.map((k) => [k.keyid, k]));
  const ok = new Set<string>();
  for (const s of envelope.signatures) {
    const key = byId.get(s.keyid);
    if (key === undefined) continue;
    const sig = Buffer.from(s.sig, 'base64');
    if (sig.length !== 64) continue;
    if (verify(null, bytes, key.key, sig)) ok.add(s.keyid);
  }
  return [...ok];
}
