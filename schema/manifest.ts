/**
 * Verifying a manifest, the same code for agent and helper. Each check names the attack it
 * stops. Pure: the caller passes the time and what it accepted before.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes } from './canonical.js';
import { ValidationError } from './errors.js';
import type { PublicKeyInfo } from './keys.js';
import { MAX_MANIFEST_BYTES } from './manifest.schema.js';
import { validSigners } from './signing.js';
import type { Manifest, SignedManifest } from './types.js';
import { describeSchemaErrors, validateManifest } from './validators.js';

export type ManifestErrorCode =
  | 'MANIFEST_TOO_LARGE'
  | 'MANIFEST_MALFORMED'
  | 'MANIFEST_SCHEMA'
  | 'MANIFEST_SIGNATURE'
  | 'MANIFEST_CHANNEL'
  | 'MANIFEST_EXPIRED'
  | 'MANIFEST_ROLLBACK'
  | 'MANIFEST_SEQUENCE_REUSED';

export class ManifestError extends ValidationError<ManifestErrorCode> {}

export interface AcceptedManifest {
  sequence: number;
  /** hex SHA-256 of the canonical `signed` part of the manifest accepted at that sequence */
  digest: string;
}

export interface VerifyOptions {
  trustedKeys: readonly PublicKeyInfo[];
  channel: string;
  now: Date;
  /** the highest manifest accepted before, if any */
  previous?: AcceptedManifest | null;
}

export interface VerifiedManifest {
  manifest: Manifest;
  signed: SignedManifest;
  signers: string[];
  accepted: AcceptedManifest;
}

export function signedDigest(signed: unknown): string {
  return createHash('sha256').update(canonicalBytes(signed)).digest('hex');
}

export function verifyManifest(raw: Buffer | string, opts: VerifyOptions): VerifiedManifest {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  // Endless data: a manifest is small; refuse before parsing anything bigger.
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new ManifestError(
      'MANIFEST_TOO_LARGE',
      `manifest is ${bytes.length} bytes; at most ${MAX_MANIFEST_BYTES} are accepted`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new ManifestError('MANIFEST_MALFORMED', `manifest is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!validateManifest(data)) {
    throw new ManifestError(
      'MANIFEST_SCHEMA',
      `manifest does not match the schema: ${describeSchemaErrors(validateManifest.errors)}`,
    );
  }
  const manifest = data;
  // Forged manifest: only a valid signature from a trusted key counts.
  const signers = validSigners(manifest, opts.trustedKeys);
  if (signers.length === 0) {
    const ids = manifest.signatures.map((s) => s.keyid.slice(0, 12)).join(', ');
    throw new ManifestError(
      'MANIFEST_SIGNATURE',
      `manifest has no valid signature from a trusted key (signed by: ${ids}; trusted: ${opts.trustedKeys.map((k) => k.keyid.slice(0, 12)).join(', ') || 'none'})`,
    );
  }
  const signed = manifest.signed;
  // Mix-and-match: a validly signed manifest of another channel must not be served as ours.
  if (signed.channel !== opts.channel) {
    throw new ManifestError(
      'MANIFEST_CHANNEL',
      `manifest is for channel "${signed.channel}", expected "${opts.channel}"`,
    );
  }
  // Freeze: an old, validly signed manifest replayed forever would hide every new release.
  const expires = Date.parse(signed.expires_at);
  if (!(expires > opts.now.getTime())) {
    throw new ManifestError(
      'MANIFEST_EXPIRED',
      `manifest expired at ${signed.expires_at} (now ${opts.now.toISOString()})`,
    );
  }
  const digest = signedDigest(signed);
  const prev = opts.previous;
  if (prev) {
    // Rollback: an older manifest (say, before a yank) must never replace a newer one.
    if (signed.sequence < prev.sequence) {
      throw new ManifestError(
        'MANIFEST_ROLLBACK',
        `manifest sequence ${signed.sequence} is below ${prev.sequence}, the highest already accepted (rollback refused)`,
      );
    }
    // The same sequence with other content is a forged or broken publish.
    if (signed.sequence === prev.sequence && digest !== prev.digest) {
      throw new ManifestError(
        'MANIFEST_SEQUENCE_REUSED',
        `manifest sequence ${signed.sequence} was accepted before with different content`,
      );
    }
  }
  return { manifest, signed, signers, accepted: { sequence: signed.sequence, digest } };
}
