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
  | 'MANIFEST_SPEC'
  | 'MANIFEST_SIGNATURE'
  | 'MANIFEST_CHANNEL'
  | 'MANIFEST_EXPIRED'
  | 'MANIFEST_ROLLBACK'
  | 'MANIFEST_SEQUENCE_REUSED'
  | 'MANIFEST_FROM_FUTURE';

/**
 * How far ahead of the device clock a manifest's sequence (Unix seconds by construction, see
 * nextSequence in pipeline/manifests/build.ts) and published_at may be: a day. Beyond it, a mark
 * set by a leaked key (sequence 2^53-1) would freeze every later manifest as a rollback; bounded,
 * a forged mark is overtaken by honest sequences within a day at most.
 */
export const MAX_CLOCK_AHEAD_S = 24 * 60 * 60;

export class ManifestError extends ValidationError<ManifestErrorCode> {}

export interface AcceptedManifest {
  sequence: number;
  /** hex SHA-256 of the canonical `signed` part of the manifest accepted at that sequence */
  digest: string;
}

/** One reason a manifest is refused. `message` follows the word "manifest": "expired at ...". */
export interface ManifestProblem {
  code: ManifestErrorCode;
  message: string;
}

/** Stage 1, bytes to manifest: size, UTF-8 JSON, schema. */
export type ParsedManifest =
  | { manifest: Manifest; problem: null; sequence: number }
  /** `sequence` is what a damaged manifest still says, so a publisher never reuses it */
  | { manifest: null; problem: ManifestProblem; sequence: number | null };

export interface CheckOptions {
  trustedKeys: readonly PublicKeyInfo[];
  channel: string;
  /** without it, expiry is not checked (a publisher judges expiry itself: it re-signs) */
  now?: Date;
  /** the highest manifest accepted before, if any */
  previous?: AcceptedManifest | null;
  /** who trusts the keys, for the message: "the policy" reads "from a key the policy trusts" */
  trustedBy?: string;
}

export interface VerifyOptions extends CheckOptions {
  now: Date;
}

/** Stage 2: every problem of a parsed manifest, in the order verify refuses them. */
export interface CheckedManifest {
  signers: string[];
  accepted: AcceptedManifest;
  problems: ManifestProblem[];
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

export function parseManifest(raw: Buffer | string): ParsedManifest {
  const decoded = decodeManifest(raw);
  if (!decoded.ok) return decoded.refused;
  const data = decoded.data;
  const spec = specOf(data);
  if (spec !== 1 && typeof spec === 'number')
    return schemaRefusal(
      data,
      `is spec ${spec}; this reader follows spec 1 (its URL is latest.json, not v2/…)`,
      'MANIFEST_SPEC',
    );
  if (!validateManifest(data)) return schemaRefusal(data, describeSchemaErrors(validateManifest.errors));
  return { manifest: data, problem: null, sequence: data.signed.sequence };
}

/** Bytes to JSON, the same for every spec: size first (endless data), then UTF-8 JSON. */
export function decodeManifest(
  raw: Buffer | string,
): { ok: true; data: unknown } | { ok: false; refused: { manifest: null; problem: ManifestProblem; sequence: null } } {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const refuse = (code: ManifestErrorCode, message: string) => ({
    ok: false as const,
    refused: { manifest: null, problem: { code, message }, sequence: null },
  });
  // Endless data: a manifest is small; refuse before parsing anything bigger.
  if (bytes.length > MAX_MANIFEST_BYTES)
    return refuse('MANIFEST_TOO_LARGE', `is ${bytes.length} bytes; at most ${MAX_MANIFEST_BYTES} are accepted`);
  try {
    return { ok: true, data: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown };
  } catch (err) {
    return refuse('MANIFEST_MALFORMED', `is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
}

/** A refusal for JSON that is not the schema; keeps the sequence it still says, so a publisher never reuses it. */
export function schemaRefusal(
  data: unknown,
  why: string,
  code: ManifestErrorCode = 'MANIFEST_SCHEMA',
): { manifest: null; problem: ManifestProblem; sequence: number | null } {
  const seq = (data as { signed?: { sequence?: unknown } } | null)?.signed?.sequence;
  const sequence = Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : null;
  const message = code === 'MANIFEST_SCHEMA' ? `does not match the schema: ${why}` : why;
  return { manifest: null, problem: { code, message }, sequence };
}

/** The spec a manifest says it is, before any schema (a reader of another spec is told so by name). */
export function specOf(data: unknown): unknown {
  return (data as { signed?: { spec?: unknown } } | null)?.signed?.spec;
}

/** What the checks below read of a manifest, whatever its spec. */
export interface ManifestEnvelope {
  signed: { channel: string; sequence: number; published_at: string; expires_at: string };
  signatures: { keyid: string; sig: string }[];
}

export function checkManifest(manifest: ManifestEnvelope, opts: CheckOptions): CheckedManifest {
  const problems: ManifestProblem[] = [];
  const signed = manifest.signed;
  // Forged manifest: only a valid signature from a trusted key counts.
  const signers = validSigners(manifest, opts.trustedKeys);
  if (signers.length === 0) {
    const ids = manifest.signatures.map((s) => s.keyid.slice(0, 12)).join(', ');
    const from = opts.trustedBy === undefined ? 'a trusted key' : `a key ${opts.trustedBy} trusts`;
    problems.push({
      code: 'MANIFEST_SIGNATURE',
      message: `has no valid signature from ${from} (signed by: ${ids}; trusted: ${opts.trustedKeys.map((k) => k.keyid.slice(0, 12)).join(', ') || 'none'})`,
    });
  }
  // Mix-and-match: a validly signed manifest of another channel must not be served as ours.
  if (signed.channel !== opts.channel) {
    problems.push({
      code: 'MANIFEST_CHANNEL',
      message: `is for channel "${signed.channel}", expected "${opts.channel}"`,
    });
  }
  // Freeze: an old, validly signed manifest replayed forever would hide every new release.
  if (opts.now !== undefined && !(Date.parse(signed.expires_at) > opts.now.getTime())) {
    problems.push({
      code: 'MANIFEST_EXPIRED',
      message: `expired at ${signed.expires_at} (now ${opts.now.toISOString()})`,
    });
  }
  if (opts.now !== undefined) {
    // A leaked key's mark from the far future: bounded by the device clock (sequence ~ Unix time).
    const limit = Math.floor(opts.now.getTime() / 1000) + MAX_CLOCK_AHEAD_S;
    const published = Math.floor(Date.parse(signed.published_at) / 1000);
    if (signed.sequence > limit || published > limit) {
      problems.push({
        code: 'MANIFEST_FROM_FUTURE',
        message: `has sequence ${signed.sequence} and published_at ${signed.published_at}, more than a day ahead of this device's clock (now ${opts.now.toISOString()}); a sequence is the publish time in Unix seconds: check the clock, or the signing key may have leaked`,
      });
    }
  }
  const digest = signedDigest(signed);
  const prev = opts.previous;
  if (prev) {
    // Rollback: an older manifest (say, before a yank) must never replace a newer one.
    if (signed.sequence < prev.sequence) {
      problems.push({
        code: 'MANIFEST_ROLLBACK',
        message: `sequence ${signed.sequence} is below ${prev.sequence}, the highest already accepted (rollback refused)`,
      });
    }
    // The same sequence with other content is a forged or broken publish.
    if (signed.sequence === prev.sequence && digest !== prev.digest) {
      problems.push({
        code: 'MANIFEST_SEQUENCE_REUSED',
        message: `sequence ${signed.sequence} was accepted before with different content`,
      });
    }
  }
  return { signers, accepted: { sequence: signed.sequence, digest }, problems };
}

/** Stage 3, what agent and helper call: parse and check, and throw on the first problem. */
export function verifyManifest(raw: Buffer | string, opts: VerifyOptions): VerifiedManifest {
  const parsed = parseManifest(raw);
  if (parsed.manifest === null) throw manifestError(parsed.problem);
  const { manifest } = parsed;
  const checked = checkManifest(manifest, opts);
  const first = checked.problems[0];
  if (first !== undefined) throw manifestError(first);
  return { manifest, signed: manifest.signed, signers: checked.signers, accepted: checked.accepted };
}

export function manifestError(p: ManifestProblem): ManifestError {
  return new ManifestError(p.code, `manifest ${p.message}`);
}
