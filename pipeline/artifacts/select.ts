/** Which releases verify-artifacts checks: pure functions of the release set (no I/O). */
import { listedOn } from '../../schema/channel.js';
import { MANIFEST_DEFAULTS } from '../../schema/types.js';
import type { LoadedRelease, ReleaseSet } from '../releases/release-set.js';

export type Scope =
  /** the releases some channel's manifest will list (the default; what apply needs) */
  | { kind: 'manifest' }
  /** every release file that loaded */
  | { kind: 'all' }
  /** the release files at these paths (relative to the set's root), e.g. from --changed-since */
  | { kind: 'files'; files: readonly string[] };

/** The releases of `set` within `scope`, newest first. */
export function selectReleases(set: ReleaseSet, scope: Scope): LoadedRelease[] {
  switch (scope.kind) {
    case 'all':
      return [...set.releases];
    case 'files': {
      const wanted = new Set(scope.files.map(normalise));
      return set.releases.filter((r) => wanted.has(normalise(r.file)));
    }
    case 'manifest': {
      // Without a valid policy (validate reports why) fall back to the channels the releases name.
      const channels = set.policy?.channels ?? ['stable', ...set.releases.map((r) => r.release.channel)];
      const max = set.policy?.manifest.max_releases ?? MANIFEST_DEFAULTS.max_releases;
      const all = set.releases.map((r) => r.release);
      const versions = new Set<string>();
      for (const channel of new Set(channels)) {
        for (const m of listedOn(channel, all, max)) versions.add(m.version);
      }
      return set.releases.filter((r) => versions.has(r.release.version));
    }
  }
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}
