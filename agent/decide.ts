/**
 * Step 3 of a check, per manifest spec: what the verified manifest offers this device, as one
 * `Decision` the rest of the check acts on (cool-down, download, hand-over) whatever the spec.
 * Spec 1 is today's path, kept for the bridge (schema/choose.ts); spec 2 is agent/decide2.ts.
 */
import type { ArtifactArch } from '../schema/choose2.js';
import { choose, eligible } from '../schema/choose.js';
import type { MacFacts } from '../schema/device-facts.js';
import type { SignedManifest } from '../schema/types.js';
import { compareVersions } from '../schema/version.js';
import { bucketText, nothingNewer } from './check-words.js';
import type { PackageSpec } from './download.js';

/** The package chosen: its release's version, and (spec 2) the artifact's arch. */
export interface ChosenPackage extends PackageSpec {
  version: string;
  /** spec 2: the artifact's arch, handed to the helper; null for spec 1 (one universal package) */
  arch: ArtifactArch | null;
}

export interface Decision {
  target: ChosenPackage | null;
  blocked: boolean;
  forced: boolean;
  floor: string | null;
  unsupported: string | null;
  /** the whole warning for an unsupported floor (logged once per check), or null */
  warning: string | null;
  /** the check line after the manifest: what it offers and why; with no target it ends in "-> …" */
  line: string;
  /** spec 2: the facts this device chose with */
  device: MacFacts | null;
}

/** Spec 1 (today's path, for the bridge). The log lines are the ones agents have always written. */
export function decide1(signed: SignedManifest, current: string, deviceId: string): Decision {
  const floor = signed.min_required_version;
  const choice = choose({ releases: signed.releases, current, floor, deviceId });
  const { blocked, forced, unsupported, target } = choice;
  const warning =
    unsupported === null
      ? null
      : `SelfUpdate: check: current ${current} is below the floor ${floor}, but ${unsupported}: this device cannot satisfy it; checkin not blocked, normal updates go on (fix the manifest: offer a release at or above the floor)`;
  const common = { blocked, forced, floor, unsupported, warning, device: null };
  if (target === null) return { ...common, target: null, line: describeNothing(signed, current, deviceId) };
  const line = forced
    ? `is below the floor ${floor}: forced update to ${target.version} (rollout ignored), checkin blocked until updated`
    : `offers ${target.version} (rollout ${target.rollout_percent}%, this device in cohort, ${bucketText(deviceId, target.version)})${blocked ? `; below the floor ${floor}, checkin blocked until updated` : ''}`;
  const { version, download_url, sha256, size } = target;
  return { ...common, target: { version, download_url, sha256, size, arch: null }, line };
}

/** Why there is nothing to install, for the log line. */
function describeNothing(signed: SignedManifest, current: string, deviceId: string): string {
  const newer = signed.releases.find((r) => compareVersions(r.version, current) > 0);
  if (newer !== undefined) {
    const cohort =
      newer.rollout_percent === 0
        ? 'paused'
        : eligible(deviceId, newer)
          ? 'this device in cohort'
          : 'this device not in cohort';
    return `offers ${newer.version} (rollout ${newer.rollout_percent}%, ${cohort}, ${bucketText(deviceId, newer.version)}) -> staying on ${current}`;
  }
  return nothingNewer(
    signed.releases.map((r) => r.version),
    current,
  );
}
