/**
 * The one function that chooses a release for a device. Agent, helper, pipeline and tests all
 * call this; it is pure (no clock, no I/O).
 */
import { createHash } from 'node:crypto';
import { compareVersions } from './version.js';

export interface Candidate {
  version: string;
  rollout_percent: number;
}

/** A number in [0, 100): first 4 bytes of SHA-256(device_id + "/" + version), big-endian, scaled. */
export function bucket(deviceId: string, version: string): number {
  const digest = createHash('sha256').update(`${deviceId}/${version}`, 'utf8').digest();
  return (digest.readUInt32BE(0) * 100) / 2 ** 32;
}

export function eligible(deviceId: string, r: Candidate): boolean {
  return bucket(deviceId, r.version) < r.rollout_percent;
}

export interface ChooseInput<R extends Candidate> {
  releases: readonly R[];
  current: string;
  floor: string | null;
  deviceId: string;
}

export interface Choice<R extends Candidate> {
  target: R | null;
  /** true when the floor forced this target (the rollout share was ignored). */
  forced: boolean;
  /** true when the device is below the floor (whether or not a target was found). */
  belowFloor: boolean;
  /**
   * Checkin waits for the update: below the floor, and the target satisfies the floor (a release
   * this device can install that does: listed, newer, not paused). Never true otherwise.
   */
  blocked: boolean;
  /** below the floor and no release this device can install satisfies it: why, for one warning */
  unsupported: string | null;
}

function newest<R extends Candidate>(rs: readonly R[], keep: (r: R) => boolean): R | null {
  let best: R | null = null;
  for (const r of rs) {
    if (keep(r) && (best === null || compareVersions(r.version, best.version) > 0)) best = r;
  }
  return best;
}

export function choose<R extends Candidate>({ releases, current, floor, deviceId }: ChooseInput<R>): Choice<R> {
  // Never a version at or below the current one: no downgrade, even when current was yanked.
  const normal = newest(releases, (r) => compareVersions(r.version, current) > 0 && eligible(deviceId, r));
  if (floor === null || compareVersions(current, floor) >= 0)
    return { target: normal, forced: false, belowFloor: false, blocked: false, unsupported: null };
  if (normal !== null && compareVersions(normal.version, floor) >= 0)
    return { target: normal, forced: false, belowFloor: true, blocked: true, unsupported: null };
  // A forced update ignores the rollout share, but never a pause (rollout_percent 0).
  const forced = newest(releases, (r) => compareVersions(r.version, floor) >= 0 && r.rollout_percent > 0);
  if (forced !== null) return { target: forced, forced: true, belowFloor: true, blocked: true, unsupported: null };
  // Lockout-proof: a floor nothing installable satisfies (a broken or hostile manifest, or every
  // such release paused) must not stop checkin; the normal target is still taken.
  const listed = releases.filter((r) => compareVersions(r.version, floor) >= 0).map((r) => r.version);
  const unsupported =
    listed.length === 0
      ? `the manifest lists no release at or above the floor ${floor}`
      : `every release at or above the floor ${floor} is paused (${listed.join(', ')})`;
  return { target: normal, forced: false, belowFloor: true, blocked: false, unsupported };
}
