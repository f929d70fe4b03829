/**
 * The rollback mark, kept per signing key (agent and helper alike). A manifest below the highest
 * one accepted is refused (rollback); but a mark set by a leaked key must not freeze a device for
 * good. So (TUF's fast-forward recovery):
 * - each key that signed an accepted manifest keeps its own mark;
 * - only the marks of keys still trusted count: once the leaked key is removed from the trusted
 *   keys, its mark is dropped, and the rotated key's manifests are accepted again;
 * - a mark beyond what the device clock allows (sequence or published_at more than
 *   MAX_CLOCK_AHEAD_S ahead, see schema/manifest.ts) cannot have been set by an honest publish
 *   and is dropped too. That also frees a device frozen before marks were kept per key.
 * Pure: the caller passes the time and the trusted keys.
 */
import type { PublicKeyInfo } from './keys.js';
import { MAX_CLOCK_AHEAD_S, type AcceptedManifest } from './manifest.js';

/** Rollback marks by the signing key's keyid. */
export type AcceptedMarks = Record<string, AcceptedManifest>;

/** The key a mark recorded before marks were kept per key is filed under: it counts for any trusted key. */
export const LEGACY_MARK = '*';

/** Whether `m` is a well-formed mark (state files are read back from disk). */
export function isMark(m: unknown): m is AcceptedManifest {
  const a = m as AcceptedManifest;
  return typeof a === 'object' && a !== null && Number.isSafeInteger(a.sequence) && typeof a.digest === 'string';
}

/** Reads a stored record: the per-key form, or the single mark of before (filed as LEGACY_MARK). */
export function marksFromStored(data: unknown): AcceptedMarks | null {
  if (isMark(data)) return { [LEGACY_MARK]: { sequence: data.sequence, digest: data.digest } };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const out: AcceptedMarks = {};
  for (const [key, m] of Object.entries(data)) {
    if (!isMark(m)) return null;
    out[key] = { sequence: m.sequence, digest: m.digest };
  }
  return out;
}

function possible(m: AcceptedManifest, now: Date): boolean {
  return m.sequence <= Math.floor(now.getTime() / 1000) + MAX_CLOCK_AHEAD_S;
}

/** The marks that still count: keys still trusted (and the legacy mark), none beyond the clock. */
export function liveMarks(marks: AcceptedMarks, trustedKeys: readonly PublicKeyInfo[], now: Date): AcceptedMarks {
  const trusted = new Set(trustedKeys.map((k) => k.keyid));
  const out: AcceptedMarks = {};
  for (const [key, m] of Object.entries(marks)) {
    if ((key === LEGACY_MARK || trusted.has(key)) && possible(m, now)) out[key] = m;
  }
  return out;
}

/** The mark a new manifest is checked against: the highest that still counts, or null. */
export function markToCheck(
  marks: AcceptedMarks | null,
  trustedKeys: readonly PublicKeyInfo[],
  now: Date,
): AcceptedManifest | null {
  let best: AcceptedManifest | null = null;
  for (const m of Object.values(liveMarks(marks ?? {}, trustedKeys, now))) {
    if (best === null || m.sequence > best.sequence) best = m;
  }
  return best;
}

/**
 * The marks after accepting `accepted`, signed by `signers` (keyids): each signer's mark moves up
 * to it (never down); marks that no longer count are dropped, the legacy one too (the new marks
 * are at or above it: the manifest passed the check against it).
 */
export function marksAfter(
  marks: AcceptedMarks | null,
  accepted: AcceptedManifest,
  signers: readonly string[],
  trustedKeys: readonly PublicKeyInfo[],
  now: Date,
): AcceptedMarks {
  const out = liveMarks(marks ?? {}, trustedKeys, now);
  delete out[LEGACY_MARK];
  for (const key of signers) {
    const m = out[key];
    if (m === undefined || accepted.sequence > m.sequence) out[key] = { ...accepted };
  }
  return out;
}

/** Whether the marks differ (so the caller writes them only when they changed). */
export function marksChanged(a: AcceptedMarks | null, b: AcceptedMarks): boolean {
  return JSON.stringify(a ?? {}) !== JSON.stringify(b);
}
