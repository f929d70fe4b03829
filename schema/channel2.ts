/**
 * Which releases a spec-2 manifest lists (docs/DESIGN.md): newest first, down to where every
 * macOS and arch the policy supports has a listed release at 100 % it can run, at most `max`.
 * Pure; the builder and verify-artifacts (which proves what manifests will list) share it.
 */
import { firstUncovered, HW_ARCHES, runsOnEveryMac, type SupportedMacos } from './artifacts.js';
import { offeredOn } from './channel.js';
import type { Release } from './types.js';
import { sortNewestFirst } from './version.js';

/** `full(r)`: r is offered to every device (100 %) at the time of listing. */
export function listedOn2(
  channel: string,
  releases: readonly Release[],
  supported: SupportedMacos,
  max: number,
  full: (r: Release) => boolean,
): Release[] {
  const out: Release[] = [];
  const complete: Release[] = [];
  for (const r of sortNewestFirst(offeredOn(channel, releases))) {
    if (out.length >= max) break;
    out.push(r);
    if (!full(r)) continue;
    complete.push(r);
    // older releases are never needed once every supported Mac has one here it can run
    if (HW_ARCHES.every((hw) => firstUncovered(complete, hw, supported) === null)) break;
  }
  return out;
}

/**
 * Spec 1's conservative projection (docs/DESIGN.md "Projections for older readers"): a spec-1
 * reader knows neither its macOS nor its arch, so it is offered only releases every supported Mac
 * runs (a universal artifact, no requires stricter than the policy's range).
 */
export function spec1Listable<R extends Release>(releases: readonly R[], supported: SupportedMacos): R[] {
  return releases.filter((r) => runsOnEveryMac(r, supported));
}
