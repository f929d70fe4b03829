/**
 * Which Macs below a floor can satisfy it (docs/DESIGN.md: a floor never locks out a Mac that
 * cannot satisfy it). A device below the channel's floor whose macOS runs none of the releases at
 * or above it that the channel offers is "unsupported": its checkin is not blocked (one warning);
 * the others are blocked until they update. One rule for `status` and `plan`'s numbers.
 */
import { offeredOn, type ChannelEntry } from '../../schema/channel.js';
import { compareVersions } from '../../schema/version.js';

/** A release as the floor rule reads it: spec 2's files say which macOS it needs (none: any). */
export type FloorRelease = ChannelEntry & { requires?: { macos_min?: string | null } | null };

/** The versions offered on `channel` (share above 0) that satisfy `floor`. */
export function satisfying(channel: string, floor: string, releases: readonly FloorRelease[]): FloorRelease[] {
  return offeredOn(channel, releases).filter((r) => r.rollout_percent > 0 && compareVersions(r.version, floor) >= 0);
}

/** Whether a Mac on `macos` runs one of the releases whose macOS minimums are `mins` (null: no minimum). */
export function runsOneOf(mins: readonly (string | null)[]): (macos: string) => boolean {
  return (macos) => mins.some((m) => m === null || compareVersions(macos, m) >= 0);
}

/** The macOS minimum of a release, when its file says. */
export function macosMinOf(r: FloorRelease): string | null {
  return r.requires?.macos_min ?? null;
}
