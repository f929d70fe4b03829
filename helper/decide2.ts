/**
 * The spec-2 install decision (pure): the helper chooses itself with choose v2 and the facts it
 * read itself (installed version, device id, macOS, hardware), and installs only the artifact
 * that choice names. Threats: a local user (or a confused agent) asking for a release this Mac
 * is not offered, one its macOS cannot run, or a package built for other hardware.
 */
import { artifactFor, choose2, runsOn, type ArtifactArch } from '../schema/choose2.js';
import { describeFacts, type MacFacts } from '../schema/device-facts.js';
import { macosWithin } from '../schema/macos.js';
import type { Manifest2Artifact, Manifest2Release, SignedManifest2 } from '../schema/types.js';
import { compareVersions } from '../schema/version.js';
import { HelperError } from './protocol.js';

export interface Asked {
  release: Manifest2Release;
  /** the arch the request names, if any */
  arch: ArtifactArch | undefined;
  installed: string;
  deviceId: string;
  facts: MacFacts;
  now: Date;
}

/** The artifact to stage (its size and hash); throws HelperError when this Mac is not offered it. */
export function artifactToInstall(signed: SignedManifest2, a: Asked): Manifest2Artifact {
  const { release, facts } = a;
  const where = `the ${signed.channel} manifest (spec 2, sequence ${signed.sequence})`;
  // Wrong hardware: an arm64 build on an Intel Mac never installs, whoever asks (electron-builder #5616).
  if (a.arch !== undefined && !runsOn(a.arch, facts.hwArch))
    throw new HelperError(
      'ARCH_NOT_RUNNABLE',
      `the ${a.arch} package of ${release.version} cannot run on this Mac's ${facts.hwArch} hardware (${describeFacts(facts)}, read by the helper itself); nothing installed`,
    );
  const c = choose2(signed, {
    deviceId: a.deviceId,
    current: a.installed,
    macos: facts.macos,
    hwArch: facts.hwArch,
    clock: a.now.getTime(),
  });
  const target = c.target;
  if (target === null || compareVersions(target.release.version, release.version) !== 0) {
    const why =
      target !== null
        ? `it offers ${target.release.version} to this Mac`
        : !macosWithin(facts.macos, release.requires)
          ? `${release.version} needs macOS ${release.requires.macos_min ?? 'any'} to ${release.requires.macos_max ?? 'any'}, this Mac has ${facts.macos}`
          : artifactFor(release.artifacts, facts.hwArch) === null
            ? `${release.version} has no package for ${facts.hwArch} hardware`
            : `this device is outside the rollout of ${release.version} at this time`;
    throw new HelperError(
      'VERSION_NOT_OFFERED',
      `${where} does not offer ${release.version} to this device: ${why}; the helper installs only what the newest manifest it knows offers to this device`,
    );
  }
  if (a.arch !== undefined && a.arch !== target.artifact.arch)
    throw new HelperError(
      'ARTIFACT_NOT_CHOSEN',
      `${where} offers ${release.version} to this Mac as its ${target.artifact.arch} package, not the ${a.arch} one asked for (${describeFacts(facts)}); download the ${target.artifact.arch} package`,
    );
  return target.artifact;
}
