/**
 * Choosing a release for a device, manifest spec 2 (docs/DESIGN.md). Pure: agent, helper,
 * pipeline and tests call this same function with the device's facts and the verified manifest.
 *
 *   t           = clamp(device clock, published_at, expires_at)
 *   runnable(r) = macOS within r.requires, and an artifact for the hardware
 *                 (exact arch > universal > x86_64 on arm64 hardware through Rosetta)
 *   eligible(r) = runnable, not stopped (a share of 0 for good), and: in the cohort or rescued
 *                 (share(r, t) > 0), or in a ring of r (whatever the schedule)
 *   target      = the newest eligible release above current
 *   floor       : below it, the newest runnable release at or above it that is not paused is
 *                 forced and checkin blocks until updated; when there is none the device is
 *                 "unsupported": one warning, checkin NOT blocked (lockout-proof).
 */
import { bucket } from './choose.js';
import { ringHash } from './rings.js';
import { macosWithin, type MacosRange } from './macos.js';
import { evaluationTime, shareAt, type RolloutStep } from './rollout.js';
import { compareVersions } from './version.js';

export type ArtifactArch = 'universal' | 'arm64' | 'x86_64';
export type HardwareArch = 'arm64' | 'x86_64';

export interface ArtifactLike {
  arch: ArtifactArch;
}

export interface ReleaseLike<A extends ArtifactLike = ArtifactLike> {
  version: string;
  artifacts: readonly A[];
  requires: MacosRange;
  rollout: readonly RolloutStep[];
  rings?: readonly string[];
}

export interface ManifestLike<R extends ReleaseLike> {
  published_at: string;
  expires_at: string;
  min_required_version: string | null;
  releases: readonly R[];
  rings: Readonly<Record<string, readonly string[]>>;
  ring_salt: string;
  rescue_from: readonly string[];
}

export interface DeviceFacts {
  deviceId: string;
  current: string;
  /** macOS product version (sw_vers -productVersion), never a Darwin number */
  macos: string;
  /** the hardware, not the process: an x86_64 agent under Rosetta runs on arm64 hardware */
  hwArch: HardwareArch;
  /** the device clock, ms since the epoch */
  clock: number;
}

/** Why this device is offered its target. */
export type Via = 'cohort' | 'ring' | 'rescue' | 'floor';

export interface Offer<R extends ReleaseLike> {
  release: R;
  artifact: R['artifacts'][number];
  via: Via;
}

export interface Choice2<R extends ReleaseLike> {
  target: Offer<R> | null;
  /** below the floor with an installable release that satisfies it: checkin waits for the update */
  blocked: boolean;
  /** below the floor and nothing here can satisfy it: why, for one warning (never blocks) */
  unsupported: string | null;
  /** the time the manifest was evaluated at (the clamped clock) */
  t: number;
}

const ARCH_PREFERENCE: Record<HardwareArch, readonly ArtifactArch[]> = {
  arm64: ['arm64', 'universal', 'x86_64'],
  x86_64: ['x86_64', 'universal'],
};

/** Whether this hardware runs an artifact at all: its own arch, universal, x86_64 through Rosetta. */
export function runsOn(arch: ArtifactArch, hw: HardwareArch): boolean {
  return ARCH_PREFERENCE[hw].includes(arch);
}

/** The artifact this hardware runs best: exact arch > universal > x86_64 through Rosetta; null: none. */
export function artifactFor<A extends ArtifactLike>(artifacts: readonly A[], hw: HardwareArch): A | null {
  for (const arch of ARCH_PREFERENCE[hw]) {
    const a = artifacts.find((x) => x.arch === arch);
    if (a !== undefined) return a;
  }
  return null;
}

export function runnable(r: ReleaseLike, d: Pick<DeviceFacts, 'macos' | 'hwArch'>): boolean {
  return macosWithin(d.macos, r.requires) && artifactFor(r.artifacts, d.hwArch) !== null;
}

export { ringHash };

function newest<R extends ReleaseLike>(rs: readonly R[], keep: (r: R) => boolean): R | null {
  let best: R | null = null;
  for (const r of rs) if (keep(r) && (best === null || compareVersions(r.version, best.version) > 0)) best = r;
  return best;
}

export function choose2<R extends ReleaseLike>(m: ManifestLike<R>, d: DeviceFacts): Choice2<R> {
  const t = evaluationTime(d.clock, m.published_at, m.expires_at);
  const share = (r: R) => shareAt(r.rollout, t);
  const above = (r: R, v: string) => compareVersions(r.version, v) > 0;
  const hash = ringHash(m.ring_salt, d.deviceId);
  const inRing = (r: R) => (r.rings ?? []).some((name) => (m.rings[name] ?? []).includes(hash));
  // A Mac on a yanked or halted build, or on an unfinished rollout, takes any newer release with a
  // share: the per-version cohort redraw would otherwise strand ~90 % of a bad build's devices.
  const listed = m.releases.find((r) => compareVersions(r.version, d.current) === 0);
  const rescued =
    m.rescue_from.some((v) => compareVersions(v, d.current) === 0) || (listed !== undefined && share(listed) < 100);

  // A share of 0 for good (rollout_percent 0, or paused at 0) is a hard stop, rings included;
  // a schedule not started yet is not: its ring members and a floor take it already.
  const live = (r: R) => r.rollout.some((s) => s.percent > 0);
  const via = (r: R): Via | null => {
    if (!runnable(r, d) || !live(r)) return null;
    const now = share(r);
    if (now > 0 && bucket(d.deviceId, r.version) < now) return 'cohort';
    if (inRing(r)) return 'ring';
    return now > 0 && rescued ? 'rescue' : null;
  };
  // Never a version at or below the current one.
  const chosen = newest(m.releases, (r) => above(r, d.current) && via(r) !== null);
  let target: Offer<R> | null =
    chosen === null ? null : { release: chosen, artifact: artifactFor(chosen.artifacts, d.hwArch)!, via: via(chosen)! };

  const floor = m.min_required_version;
  if (floor === null || compareVersions(d.current, floor) >= 0) return { target, blocked: false, unsupported: null, t };
  // A forced update ignores the schedule and the cohort, never a pause (a share of 0 for good).
  // (Issue 17 refines part 2 of the contract's "share(r) > 0", as docs/DESIGN.md says: a scheduled
  // release not yet started is forced.)
  const forceable = (r: R) => runnable(r, d) && live(r);
  const forced = newest(m.releases, (r) => compareVersions(r.version, floor) >= 0 && forceable(r));
  if (forced === null) {
    return { target, blocked: false, unsupported: unsupportedWhy(m, d, floor), t };
  }
  if (target === null || compareVersions(forced.version, target.release.version) > 0)
    target = { release: forced, artifact: artifactFor(forced.artifacts, d.hwArch)!, via: 'floor' };
  return { target, blocked: true, unsupported: null, t };
}

function unsupportedWhy<R extends ReleaseLike>(m: ManifestLike<R>, d: DeviceFacts, floor: string): string {
  const atFloor = m.releases.filter((r) => compareVersions(r.version, floor) >= 0);
  if (atFloor.length === 0) return `no listed release satisfies the floor ${floor}`;
  if (atFloor.every((r) => !macosWithin(d.macos, r.requires)))
    return `every release at or above the floor ${floor} needs another macOS than ${d.macos}`;
  if (atFloor.every((r) => artifactFor(r.artifacts, d.hwArch) === null))
    return `no release at or above the floor ${floor} has a package for ${d.hwArch} hardware`;
  return `every release at or above the floor ${floor} that this Mac can run is paused`;
}
