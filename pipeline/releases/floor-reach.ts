/**
 * Whether a channel's floor can be satisfied on every Mac the policy supports: for each hardware
 * arch, the lowest supported macOS on which no release at or above the floor runs. A gap is
 * deliberate when a release that carries the floor says `desupports: {macos_below: V}` and the gap
 * lies below V: those Macs become "unsupported" (never blocked), and plan names it. Pure.
 */
import { firstUncovered, HW_ARCHES, requiresOf, type HwArch, type SupportedMacos } from '../../schema/artifacts.js';
import { effectiveFloor, offeredOn } from '../../schema/channel.js';
import { compareMacos } from '../../schema/macos.js';
import type { Release } from '../../schema/types.js';
import { compareVersions } from '../../schema/version.js';

export interface FloorGap {
  hw: HwArch;
  /** the lowest supported macOS where nothing at or above the floor runs */
  macos: string;
}

export interface FloorReach {
  channel: string;
  floor: string;
  /** the active releases whose min_required_version is the floor */
  carriers: Release[];
  /** the highest desupports.macos_below among the carriers, or null */
  desupportedBelow: string | null;
  /** gaps below desupportedBelow: meant, a load event */
  desupported: FloorGap[];
  /** gaps nothing says are meant: an error */
  stranded: FloorGap[];
}

export function floorReach(
  channel: string,
  releases: readonly Release[],
  supported: SupportedMacos,
): FloorReach | null {
  const floor = effectiveFloor(channel, releases);
  if (floor === null) return null;
  const offered = offeredOn(channel, releases);
  const satisfying = offered.filter((r) => r.rollout_percent > 0 && compareVersions(r.version, floor) >= 0);
  if (satisfying.length === 0) return null; // RELEASE_FLOOR_LOCKOUT says it
  const carriers = offered.filter(
    (r) => r.min_required_version !== undefined && compareVersions(r.min_required_version, floor) === 0,
  );
  let below: string | null = null;
  for (const r of carriers) {
    const v = r.desupports?.macos_below;
    if (v !== undefined && (below === null || compareMacos(v, below) > 0)) below = v;
  }
  const out: FloorReach = { channel, floor, carriers, desupportedBelow: below, desupported: [], stranded: [] };
  for (const hw of HW_ARCHES) {
    const gap = firstUncovered(satisfying, hw, supported);
    if (gap === null) continue;
    if (below === null || compareMacos(gap, below) >= 0) {
      out.stranded.push({ hw, macos: gap });
      continue;
    }
    out.desupported.push({ hw, macos: gap });
    const oldest = supported.oldest === null || compareMacos(below, supported.oldest) > 0 ? below : supported.oldest;
    const above = firstUncovered(satisfying, hw, { ...supported, oldest });
    if (above !== null) out.stranded.push({ hw, macos: above });
  }
  return out;
}

/** How the releases at or above a floor reach a Mac, for messages: "requires macOS ≥ 14.0". */
export function reachText(r: Release): string {
  const q = requiresOf(r);
  return q.macos_min === null ? 'any macOS' : `macOS ≥ ${q.macos_min}`;
}
