/** Which releases verify-artifacts checks: pure functions of the release set (no I/O). */
import type { Arch } from '../../schema/artifacts.js';
import { supportedMacosOf } from '../../schema/artifacts.js';
import { listedOn } from '../../schema/channel.js';
import { listedOn2, spec1Listable } from '../../schema/channel2.js';
import { rolloutStepsOf } from '../../schema/rollout.js';
import { shareAt } from '../../schema/rollout.js';
import { MANIFEST_DEFAULTS } from '../../schema/types.js';
import type { LoadedRelease, ReleaseSet } from '../releases/index.js';

export type Scope =
  /** the releases some channel's manifest will list (the default; what apply needs) */
  | { kind: 'manifest' }
  /** every release file that loaded */
  | { kind: 'all' }
  /** the release files at these paths (relative to the set's root), e.g. from --changed-since */
  | { kind: 'files'; files: readonly string[] }
  /**
   * the release files a change touched (--changed-since), except yanked or halted releases: a
   * yank must pass its check even when the bad package is already gone from the CDN
   */
  | { kind: 'changed'; files: readonly string[] };

export interface Skipped {
  release: LoadedRelease;
  /** why its package is not downloaded, one line */
  why: string;
}

/** A release no manifest offers because the file yanks or halts it: its package is never needed. */
function offIn(r: LoadedRelease): string | null {
  const h = r.release.halted;
  if (h !== undefined) return `${r.release.version} is halted (${JSON.stringify(h.reason)}, at ${h.at})`;
  return r.release.active ? null : `${r.release.version} is yanked (active: false)`;
}

/** The releases of `set` within `scope`, newest first. */
export function selectReleases(set: ReleaseSet, scope: Scope): LoadedRelease[] {
  switch (scope.kind) {
    case 'all':
      return [...set.releases];
    case 'files':
    case 'changed': {
      const wanted = new Set(scope.files.map(normalise));
      return set.releases.filter((r) => wanted.has(normalise(r.file)) && (scope.kind === 'files' || offIn(r) === null));
    }
    case 'manifest': {
      // Without a valid policy (validate reports why) fall back to the channels the releases name.
      const channels = set.policy?.channels ?? ['stable', ...set.releases.map((r) => r.release.channel)];
      const max = set.policy?.manifest.max_releases ?? MANIFEST_DEFAULTS.max_releases;
      const all = set.releases.map((r) => r.release);
      const supported = supportedMacosOf(set.policy);
      const spec1 = spec1Listable(all, supported);
      const versions = new Set<string>();
      for (const channel of new Set(channels)) {
        // spec 1 lists only what every supported Mac runs (its projection)
        for (const m of listedOn(channel, spec1, max)) versions.add(m.version);
        // spec 2 lists more (per-arch packages, newer macOS only); its list ends at a release at
        // 100 % from the first step of its rollout, so a ramp never shortens what is proven
        for (const m of listedOn2(channel, all, supported, max, (r) => shareAt(rolloutStepsOf(r), -Infinity) >= 100))
          versions.add(m.version);
      }
      return set.releases.filter((r) => versions.has(r.release.version));
    }
  }
}

/** The releases within `scope` that are left out on purpose, and why (only --changed-since leaves any out). */
export function skippedReleases(set: ReleaseSet, scope: Scope): Skipped[] {
  if (scope.kind !== 'changed') return [];
  const wanted = new Set(scope.files.map(normalise));
  return set.releases.flatMap((r) => {
    const off = wanted.has(normalise(r.file)) ? offIn(r) : null;
    return off === null
      ? []
      : [{ release: r, why: `${off}: no manifest offers it, so its package is not needed (it may be gone already)` }];
  });
}

/**
 * The release files within `scope` that did not load (validate says why): their packages cannot
 * be verified, so a run that skipped them must not say every package matches.
 */
export function unloadedReleases(set: ReleaseSet, scope: Scope): string[] {
  const loaded = new Set(set.releases.map((r) => normalise(r.file)));
  const policy = normalise(set.policyFile);
  const wanted = scope.kind === 'files' || scope.kind === 'changed' ? new Set(scope.files.map(normalise)) : null;
  const files = set.problems
    .filter((p) => p.severity === 'error' && p.file.endsWith('.yaml'))
    .map((p) => normalise(p.file))
    .filter((f) => f !== policy && !loaded.has(f) && (wanted === null || wanted.has(f)));
  return [...new Set(files)].sort();
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

/**
 * One package to prove: a release file's single package, or one of its `artifacts` (a copy of
 * the release whose download_url, sha256 and size are that artifact's, placed at its line).
 */
export interface PackageUnit extends LoadedRelease {
  /** the artifact's arch; absent for the single form */
  arch?: Arch;
  /** how the file names the fields: "" for the single form, "artifacts[1]." for an artifact */
  fieldPrefix: string;
}

/** Every package of the selected releases: each artifact of a release is proven on its own. */
export function packageUnits(releases: readonly LoadedRelease[]): PackageUnit[] {
  return releases.flatMap((lr): PackageUnit[] => {
    const artifacts = lr.release.artifacts;
    if (artifacts === undefined) return [{ ...lr, fieldPrefix: '' }];
    const at = (i: number, f: string) => lr.nested?.[`artifacts.${i}.${f}`] ?? lr.positions.artifacts;
    return artifacts.map((a, i) => ({
      ...lr,
      release: { ...lr.release, download_url: a.download_url, sha256: a.sha256, size: a.size },
      positions: { ...lr.positions, download_url: at(i, 'download_url'), sha256: at(i, 'sha256'), size: at(i, 'size') },
      arch: a.arch,
      fieldPrefix: `artifacts[${i}].`,
    }));
  });
}
