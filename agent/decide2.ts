/**
 * Step 3 of a spec-2 check: choose v2 (schema/choose2.ts) with the facts this agent read itself,
 * and the check line that says why: the share in force and its step, the cohort, ring or rescue,
 * the package for the hardware. `unsupported` is one warning and never blocks checkin.
 */
import { artifactFor, choose2, ringHash, type Offer } from '../schema/choose2.js';
import { describeFacts, type MacFacts } from '../schema/device-facts.js';
import { macosWithin } from '../schema/macos.js';
import { describeShareAt } from '../schema/rollout.js';
import type { Manifest2Release, SignedManifest2 } from '../schema/types.js';
import { compareVersions } from '../schema/version.js';
import { bucketText, nothingNewer } from './check-words.js';
import type { Decision } from './decide.js';

export function decide2(
  signed: SignedManifest2,
  facts: MacFacts,
  current: string,
  deviceId: string,
  now: Date,
): Decision {
  const c = choose2(signed, { deviceId, current, macos: facts.macos, hwArch: facts.hwArch, clock: now.getTime() });
  const floor = signed.min_required_version;
  const warning =
    c.unsupported === null
      ? null
      : `SelfUpdate: check: current ${current} is below the floor ${floor}, but ${c.unsupported}: this Mac (${describeFacts(facts)}) cannot satisfy it, so it is unsupported, not blocked; checkin not blocked, it keeps taking the newest release it can run`;
  const common = { blocked: c.blocked, floor, unsupported: c.unsupported, warning, device: facts };
  if (c.target === null)
    return { ...common, forced: false, target: null, line: describeNothing(signed, facts, current, deviceId, c.t) };
  const { release, artifact } = c.target;
  const forced = c.target.via === 'floor';
  const offered = forced
    ? `is below the floor ${floor}: forced update to ${release.version} (rollout ignored), checkin blocked until updated`
    : `offers ${release.version} (${describeShareAt(release.rollout, c.t)}, ${why(c.target, signed, current, deviceId)}, ${bucketText(deviceId, release.version)})${c.blocked ? `; below the floor ${floor}, checkin blocked until updated` : ''}`;
  const { download_url, sha256, size, arch } = artifact;
  return {
    ...common,
    forced,
    target: { version: release.version, download_url, sha256, size, arch },
    line: `${offered}; the ${arch} package`,
  };
}

/** Why this device is offered its target: its cohort, a ring, or the rescue of its own version. */
function why(offer: Offer<Manifest2Release>, signed: SignedManifest2, current: string, deviceId: string): string {
  if (offer.via === 'cohort') return 'this device in cohort';
  if (offer.via === 'ring') {
    const hash = ringHash(signed.ring_salt, deviceId);
    const ring = (offer.release.rings ?? []).find((name) => signed.rings[name]?.includes(hash));
    return `this device in ring ${ring ?? '?'}`;
  }
  const stopped = signed.rescue_from.some((v) => compareVersions(v, current) === 0);
  return `rescue: this device's ${current} ${stopped ? 'was yanked or halted' : 'is on an unfinished rollout'}`;
}

/** Why there is nothing to install: the newest newer release, and what keeps this Mac from it. */
function describeNothing(s: SignedManifest2, facts: MacFacts, current: string, deviceId: string, t: number): string {
  const newer = s.releases.find((r) => compareVersions(r.version, current) > 0);
  if (newer === undefined)
    return nothingNewer(
      s.releases.map((r) => r.version),
      current,
    );
  const { macos_min: lo, macos_max: hi } = newer.requires;
  let reason: string;
  if (!macosWithin(facts.macos, newer.requires))
    reason = `needs macOS ${lo !== null ? `≥ ${lo}` : ''}${lo !== null && hi !== null ? ' and ' : ''}${hi !== null ? `≤ ${hi}` : ''}, this Mac has ${facts.macos}`;
  else if (artifactFor(newer.artifacts, facts.hwArch) === null)
    reason = `no package for ${facts.hwArch} hardware (it ships ${newer.artifacts.map((a) => a.arch).join(', ')})`;
  else if (!newer.rollout.some((st) => st.percent > 0)) reason = 'paused';
  else reason = `${describeShareAt(newer.rollout, t)}, this device not in cohort`;
  return `offers ${newer.version} (${reason}, ${bucketText(deviceId, newer.version)}) -> staying on ${current}`;
}
