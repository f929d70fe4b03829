/**
 * The pure manifest builder: releases + policy + time + previous sequence -> the signed part of
 * each channel's manifest. The same input always gives the same bytes (no clock, no I/O here).
 */
import { effectiveFloor, manifestReleases } from '../../schema/channel.js';
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
  policy: Pick<Policy, 'manifest'>;
  now: Date;
  /** the sequence of the manifest published before on this channel, if any */
  previousSequence: number | null;
}

export function buildSignedManifest({ channel, releases, policy, now, previousSequence }: BuildInput): SignedManifest {
  return {
    type: MANIFEST_TYPE,
    spec: MANIFEST_SPEC,
    channel,
    sequence: nextSequence(now, previousSequence),
    published_at: isoSeconds(now),
    expires_at: isoSeconds(new Date(now.getTime() + policy.manifest.lifetime_days * DAY_MS)),
    min_required_version: effectiveFloor(channel, releases),
    releases: manifestReleases(channel, releases, policy.manifest.max_releases),
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
