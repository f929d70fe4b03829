/**
 * Where each load event comes from in releases/, for a `::warning` annotation on that line of the
 * pull request: a raised floor on the `min_required_version` line that sets it, a halt on its
 * `halted` line, a yanked newest release on its `active` (or `halted`) line, a trusted_keys change
 * on policy.yaml. An event with no place of its own (a channel left empty, the legacy endpoint)
 * is annotated without a line. Pure.
 */
import { effectiveFloor, offeredOn } from '../../schema/channel.js';
import { compareVersions } from '../../schema/version.js';
import type { LoadedRelease, Problem, ReleaseSet } from '../releases/index.js';
import type { PlanWarning } from '../table/index.js';

function at(
  r: LoadedRelease | undefined,
  ...keys: (keyof LoadedRelease['release'])[]
): { file: string; line?: number } {
  if (r === undefined) return { file: '' };
  for (const k of keys) {
    const p = r.positions[k];
    if (p !== undefined) return { file: r.file, line: p.line };
  }
  return { file: r.file, line: 1 };
}

export function loadEventProblems(warnings: readonly PlanWarning[], set: ReleaseSet): Problem[] {
  const byVersion = (v: string | undefined) =>
    v === undefined ? undefined : set.releases.find((r) => compareVersions(r.release.version, v) === 0);
  const releases = set.releases.map((r) => r.release);
  return warnings.map((w) => {
    let place: { file: string; line?: number } = { file: '' };
    if (w.code === 'FLOOR_RAISED' || w.code === 'LEGACY_FLOOR_RAISED') {
      const channel = w.channel ?? 'stable';
      const floor = effectiveFloor(channel, releases);
      const setter = offeredOn(
        channel,
        set.releases.map((r) => ({ ...r.release, loaded: r })),
      ).find((r) => floor !== null && r.min_required_version === floor);
      place = at(setter?.loaded, 'min_required_version');
    } else if (w.code === 'RELEASE_HALTED') place = at(byVersion(w.version), 'halted');
    else if (w.code === 'NEWEST_YANKED') place = at(byVersion(w.version), 'halted', 'active');
    else if (w.code === 'TRUSTED_KEYS_CHANGED') place = { file: set.policyFile };
    const problem: Problem = { severity: 'warning', code: w.code, file: place.file, message: w.message };
    if (place.line !== undefined) problem.line = place.line;
    return problem;
  });
}
