/**
 * The pure manifest builder: releases + policy + time + previous sequence -> the signed part of
 * each channel's manifest. The same input always gives the same bytes (no clock, no I/O here).
 */
import { supportedMacosOf } from '../../schema/artifacts.js';
import { spec1Listable } from '../../schema/channel2.js';
import { effectiveFloor, manifestReleases, offeredOn } from '../../schema/channel.js';
import { compareVersions } from '../../schema/version.js';
import { shareOf } from '../../schema/rollout.js';
import { MANIFEST_SPEC, MANIFEST_TYPE } from '../../schema/manifest.schema.js';
import type { Policy, Release, SignedManifest } from '../../schema/types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** RFC 3339 UTC to the second, as the manifest writes times: 2026-11-27T02:00:00Z */
export function isoSeconds(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `sequence` strictly increases per channel, even if the previous manifest was lost. */
export function nextSequence(now: Date, previous: number | null): number {
  const seconds = Math.floor(now.getTime() / 1000);
  return Math.max(seconds, previous === null ? 0 : previous + 1);
}

export interface BuildInput {
  channel: string;
  releases: readonly Release[];
  policy: Pick<Policy, 'manifest'> & Partial<Pick<Policy, 'supported_macos'>>;
  now: Date;
  /** the sequence of the manifest published before on this channel, if any */
  previousSequence: number | null;
}

/** Spec 1's conservative projection (schema/channel2.ts) under the policy's supported macOS. */
export function spec1Releases(
  releases: readonly Release[],
  policy: Partial<Pick<Policy, 'supported_macos'>>,
): Release[] {
  return spec1Listable(releases, supportedMacosOf(policy));
}

/** Spec 1's entries carry the share in force at publish time (the scheduled refresh republishes when a step is due). */
function atPublishTime(releases: readonly Release[], now: Date): Release[] {
  return releases.map((r) => {
    const share = shareOf(r, now.getTime());
    return share === r.rollout_percent ? r : { ...r, rollout_percent: share };
  });
}

/**
 * The channel's floor as spec 1 publishes it: dropped (null) when no release spec 1 lists satisfies
 * it because the projection left every such release out (a spec-1 reader could never reach it). A
 * floor unsatisfiable for another reason stays as part 1 publishes it (agents call it unsupported).
 */
export function spec1Floor(
  channel: string,
  releases: readonly Release[],
  spec1: readonly Release[],
  listed: readonly { version: string; rollout_percent: number }[],
): string | null {
  const floor = effectiveFloor(channel, releases);
  if (floor === null) return null;
  const satisfies = (r: { version: string; rollout_percent: number }) =>
    r.rollout_percent > 0 && compareVersions(r.version, floor) >= 0;
  if (listed.some(satisfies)) return floor;
  const inSpec1 = new Set(spec1.map((r) => r.version));
  const leftOut = offeredOn(channel, releases).some((r) => satisfies(r) && !inSpec1.has(r.version));
  return leftOut ? null : floor;
}

export function buildSignedManifest({ channel, releases, policy, now, previousSequence }: BuildInput): SignedManifest {
  const spec1 = atPublishTime(spec1Releases(releases, policy), now);
  const listed = manifestReleases(channel, spec1, policy.manifest.max_releases);
  return {
    type: MANIFEST_TYPE,
    spec: MANIFEST_SPEC,
    channel,
    sequence: nextSequence(now, previousSequence),
    published_at: isoSeconds(now),
    expires_at: isoSeconds(new Date(now.getTime() + policy.manifest.lifetime_days * DAY_MS)),
    min_required_version: spec1Floor(channel, releases, spec1, listed),
    releases: listed,
  };
}

/**
 * What a manifest says, without the parts that change on every publish (sequence and times):
 * publish compares this to decide whether anything changed.
 */
export function manifestContent(
  signed: SignedManifest,
): Omit<SignedManifest, 'sequence' | 'published_at' | 'expires_at'> {
  const { sequence: _s, published_at: _p, expires_at: _e, ...rest } = signed;
  return rest;
}
