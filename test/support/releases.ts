/**
 * Release objects for tests that do not need files on disk (plan, sync): a LoadedRelease as
 * loadReleaseSet would return it, with plausible positions for annotations.
 */
import { createHash } from 'node:crypto';
import type { Release } from '../../schema/types.js';
import type { LoadedRelease } from '../../pipeline/releases/release-set.js';

export const shaOf = (text: string): string => createHash('sha256').update(text).digest('hex');

export function loaded(version: string, over: Partial<Release> = {}): LoadedRelease {
  return {
    release: {
      version,
      download_url: `https://cdn.example.com/agent/mngd-agent-${version}.pkg`,
      sha256: shaOf(version),
      size: 1000 + version.length,
      active: true,
      channel: 'stable',
      rollout_percent: 100,
      ...over,
    },
    file: `releases/${version}.yaml`,
    positions: {
      version: { line: 2, column: 10 },
      download_url: { line: 3, column: 15 },
      sha256: { line: 4, column: 9 },
      size: { line: 5, column: 7 },
    },
  };
}

/** A release set as sync takes it. */
export function releaseSet(...releases: LoadedRelease[]): {
  releases: LoadedRelease[];
  policy: { channels: string[] };
} {
  return { releases, policy: { channels: ['stable', 'beta'] } };
}
