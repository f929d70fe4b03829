/**
 * The pure spec-2 manifest builder (docs/DESIGN.md "Manifest spec 2"): releases + policy + time +
 * previous sequence + provenance -> the signed part of a channel's `v2/…/latest.json`. The same
 * input always gives the same bytes (no clock, no I/O here).
 */
import { artifactsOf, requiresOf, supportedMacosOf } from '../../schema/artifacts.js';
import { listedOn2 } from '../../schema/channel2.js';
import { effectiveFloor } from '../../schema/channel.js';
import { MANIFEST2_SPEC } from '../../schema/manifest2.schema.js';
import { MANIFEST_TYPE } from '../../schema/manifest.schema.js';
import type { Manifest2Release, Policy, Release, SignedManifest2 } from '../../schema/types.js';
import { compareVersions, sortNewestFirst } from '../../schema/version.js';
import { isoSeconds, nextSequence } from './build.js';
import { rolloutStepsOf, shareOf } from '../../schema/rollout.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** at most this many versions in rescue_from (the schema's limit) */
const MAX_RESCUE = 64;

/**
 * The ring salt when the policy names none: fixed and public, so ring hashes stay stable across
 * publishes. A policy that uses rings sets its own random `ring_salt` (hashes then do not reveal
 * device ids to anyone who can guess them).
 */
export const DEFAULT_RING_SALT = '6d6e67642d72696e672d73616c742d76';

export interface Provenance {
  /** the commit of the release repository published from */
  commit: string;
  /** the workflow run's URL, or null outside GitHub Actions */
  workflow_run: string | null;
  actor: string | null;
}

/** The policy fields the spec-2 builder reads (`ring_salt` once the policy has it). */
export type Build2Policy = Pick<Policy, 'manifest'> &
  Partial<Pick<Policy, 'supported_macos' | 'ring_members'>> & { ring_salt?: string | undefined };

export interface Build2Input {
  channel: string;
  releases: readonly Release[];
  policy: Build2Policy;
  now: Date;
  /** the sequence of the spec-2 manifest published before on this channel, if any */
  previousSequence: number | null;
  provenance: Provenance;
}

export function ringSaltOf(policy: { ring_salt?: string }): string {
  return policy.ring_salt ?? DEFAULT_RING_SALT;
}

/** A release as spec 2 lists it. */
export function manifest2Entry(r: Release): Manifest2Release {
  return {
    version: r.version,
    artifacts: artifactsOf(r),
    requires: requiresOf(r),
    rollout: rolloutStepsOf(r),
    ...(r.release_notes !== undefined ? { release_notes: r.release_notes } : {}),
    ...(r.rings !== undefined && r.rings.length > 0 ? { rings: [...r.rings] } : {}),
  };
}

/** Versions newer than the newest release at 100 % that were yanked or halted: their Macs are rescued. */
export function rescueFrom(
  channel: string,
  releases: readonly Release[],
  listed: readonly Release[],
  now: Date,
): string[] {
  const newestFull = listed.find((r) => shareOf(r, now.getTime()) >= 100)?.version ?? null;
  const stopped = releases.filter(
    (r) =>
      !r.active &&
      (r.channel === channel || r.channel === 'stable') &&
      (newestFull === null || compareVersions(r.version, newestFull) > 0),
  );
  return sortNewestFirst(stopped)
    .slice(0, MAX_RESCUE)
    .map((r) => r.version);
}

/** The hashed members of each ring a listed release names (no other ring: bytes, and nothing to leak). */
export function ringsOf(listed: readonly Release[], policy: Build2Policy): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of [...new Set(listed.flatMap((r) => r.rings ?? []))].sort())
    out[name] = [...(policy.ring_members?.[name] ?? [])];
  return out;
}

export function buildSignedManifest2(input: Build2Input): SignedManifest2 {
  const { channel, releases, policy, now } = input;
  const listed = listedOn2(
    channel,
    releases,
    supportedMacosOf(policy),
    policy.manifest.max_releases,
    (r) => shareOf(r, now.getTime()) >= 100,
  );
  return {
    type: MANIFEST_TYPE,
    spec: MANIFEST2_SPEC,
    channel,
    sequence: nextSequence(now, input.previousSequence),
    published_at: isoSeconds(now),
    expires_at: isoSeconds(new Date(now.getTime() + policy.manifest.lifetime_days * DAY_MS)),
    min_required_version: effectiveFloor(channel, releases),
    releases: listed.map(manifest2Entry),
    rings: ringsOf(listed, policy),
    ring_salt: ringSaltOf(policy),
    rescue_from: rescueFrom(channel, releases, listed, now),
    provenance: input.provenance,
  };
}

/** What a spec-2 manifest says, without what changes on every publish (sequence, times, provenance). */
export function manifest2Content(
  signed: SignedManifest2,
): Omit<SignedManifest2, 'sequence' | 'published_at' | 'expires_at' | 'provenance'> {
  const { sequence: _s, published_at: _p, expires_at: _e, provenance: _v, ...rest } = signed;
  return rest;
}
