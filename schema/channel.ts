/**
 * The channel rules: what a channel offers, its floor, and which releases its manifest lists.
 * Written over the few fields they read, so a release file and a table row (through
 * `channelEntryOfRow`) both fit without being turned into each other. Pure.
 */
import { compareVersions, isVersion, sortNewestFirst } from './version.js';
import type { ManifestRelease, Release } from './types.js';

/** What the channel rules read of a release. */
export interface ChannelEntry {
  version: string;
  channel: string;
  /** offered at all: false once yanked */
  active: boolean;
  rollout_percent: number;
  min_required_version?: string | null | undefined;
}

/** The fields of a table row the rules read; a row's own `active` is the legacy flag, not these. */
export interface ChannelRow {
  version: string;
  channel: string;
  yanked: boolean;
  rollout_percent: number;
  min_required_version: string | null;
}

/** A row as the rules see it: offered when not yanked; a floor that is not a version counts as none. */
export function channelEntryOfRow(row: ChannelRow): ChannelEntry {
  const m = row.min_required_version;
  return {
    version: row.version,
    channel: row.channel,
    active: !row.yanked,
    rollout_percent: row.rollout_percent,
    min_required_version: m !== null && isVersion(m) ? m : null,
  };
}

/** Active releases a channel offers: its own, plus the stable ones on any other channel. */
export function offeredOn<R extends ChannelEntry>(channel: string, releases: readonly R[]): R[] {
  return releases.filter((r) => r.active && (r.channel === channel || r.channel === 'stable'));
}

/** The effective floor: the highest min_required_version among the channel's active releases. */
export function effectiveFloor(channel: string, releases: readonly ChannelEntry[]): string | null {
  let floor: string | null = null;
  for (const r of offeredOn(channel, releases)) {
    const m = r.min_required_version;
    if (m !== undefined && m !== null && (floor === null || compareVersions(m, floor) > 0)) floor = m;
  }
  return floor;
}

/** The releases a manifest lists: newest first, ending at the newest one at 100 %, at most `max`. */
export function listedOn<R extends ChannelEntry>(channel: string, releases: readonly R[], max: number): R[] {
  const out: R[] = [];
  for (const r of sortNewestFirst(offeredOn(channel, releases))) {
    if (out.length >= max) break;
    out.push(r);
    if (r.rollout_percent === 100) break; // older releases are never needed
  }
  return out;
}

/** A release as a channel offers it: the version and its share in force (what --json carries). */
export interface Offered {
  version: string;
  rollout_percent: number;
}

/** How an offer reads to a person: "1.0.5 (10%), 1.0.4" (a share below 100 in brackets), or "nothing". */
export function offeredText(offers: readonly Offered[]): string {
  if (offers.length === 0) return 'nothing';
  return offers.map((o) => `${o.version}${o.rollout_percent < 100 ? ` (${o.rollout_percent}%)` : ''}`).join(', ');
}

/** What a manifest entry carries of a release, in the order it is written. */
export const MANIFEST_ENTRY_FIELDS = [
  'version',
  'download_url',
  'sha256',
  'size',
  'rollout_percent',
  'release_notes',
] as const satisfies readonly (keyof ManifestRelease & keyof Release)[];

/** The manifest's entries for the releases it lists. */
export function manifestReleases(channel: string, releases: readonly Release[], max: number): ManifestRelease[] {
  return listedOn(channel, releases, max).map((r) => {
    const entry: Record<string, unknown> = {};
    for (const k of MANIFEST_ENTRY_FIELDS) if (r[k] !== undefined) entry[k] = r[k];
    return entry as ManifestRelease;
  });
}
