/** The pure decision: may this version from this verified manifest be installed over that one? */
import type { ManifestRelease, SignedManifest } from '../schema/types.js';
import { compareVersions } from '../schema/version.js';
import { HelperError } from './protocol.js';

export function releaseToInstall(signed: SignedManifest, requested: string, installed: string | null): ManifestRelease {
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
