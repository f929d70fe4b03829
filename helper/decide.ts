/** The pure decisions: may this version from this verified manifest be installed over that one, on this device? */
import { choose } from '../schema/choose.js';
import { withoutQuarantined } from '../schema/quarantine.js';
import type { ManifestRelease, SignedManifest } from '../schema/types.js';
import { compareVersions } from '../schema/version.js';
import { HelperError } from './protocol.js';

/** The few fields of a signed manifest (either spec) that say which releases it lists. */
interface Listing<R> {
  channel: string;
  sequence: number;
  releases: readonly R[];
}

export function releaseToInstall<R extends { version: string }>(
  signed: Listing<R>,
  requested: string,
  installed: string | null,
): R {
  // Substitution: only a package the signed manifest names, with its size and hash, is installed.
  const release = signed.releases.find((r) => compareVersions(r.version, requested) === 0);
  if (release === undefined) {
    const offered = signed.releases.map((r) => r.version).join(', ') || 'none';
    throw new HelperError(
      'VERSION_NOT_IN_MANIFEST',
      `version ${requested} is not in the ${signed.channel} manifest (sequence ${signed.sequence}; it offers: ${offered})`,
    );
  }
  // Without a known installed version the downgrade check below cannot be made: refuse.
  if (installed === null) {
    throw new HelperError(
      'INSTALLED_VERSION_UNKNOWN',
      'the installed version cannot be read, so a downgrade cannot be ruled out; check the version file (--version-file)',
    );
  }
  // Downgrade: an old, validly signed release (perhaps yanked for a flaw) is never reinstalled.
  if (compareVersions(release.version, installed) <= 0) {
    throw new HelperError(
      'NOT_AN_UPGRADE',
      `version ${release.version} is not above the installed ${installed}; the helper never downgrades or reinstalls`,
    );
  }
  return release;
}

/** A version the health gate rolled back on this Mac is never installed here again (either spec). */
export function refuseQuarantined(version: string, quarantined: readonly string[]): void {
  if (withoutQuarantined([{ version }], quarantined).length === 0)
    throw new HelperError(
      'VERSION_NOT_OFFERED',
      `${version} was rolled back on this Mac (quarantined by the health gate) and is never installed here again; a newer release is`,
    );
}

/**
 * Threat: a local user (any uid that can reach the socket) asking for a release this device is
 * not offered: outside its rollout cohort, paused, or not the newest it may take. The helper
 * chooses itself, with the same function as the agent and the device facts it reads itself
 * (installed version, device id), and installs only what that choice names.
 */
export function offeredToThisDevice(
  signed: SignedManifest,
  release: ManifestRelease,
  installed: string,
  deviceId: string,
  quarantined: readonly string[] = [],
): void {
  refuseQuarantined(release.version, quarantined);
  const choice = choose({
    releases: withoutQuarantined(signed.releases, quarantined),
    current: installed,
    floor: signed.min_required_version,
    deviceId,
  });
  if (choice.target !== null && compareVersions(choice.target.version, release.version) === 0) return;
  const why =
    choice.target !== null
      ? `it offers ${choice.target.version} to this device`
      : release.rollout_percent === 0
        ? `${release.version} is paused`
        : `this device is outside the ${release.rollout_percent}% rollout cohort of ${release.version}`;
  throw new HelperError(
    'VERSION_NOT_OFFERED',
    `the ${signed.channel} manifest (sequence ${signed.sequence}) does not offer ${release.version} to this device: ${why}; the helper installs only what the newest manifest it knows offers to this device`,
  );
}
