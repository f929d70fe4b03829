/**
 * The per-arch packages of agent_release_artifacts against the release files: the rows sync
 * inserts, and any package git changed for a version the table already holds (never allowed: a
 * bad package is yanked and replaced by a new version). Pure.
 */
import { artifactsOf } from '../../schema/artifacts.js';
import type { ArtifactRow } from '../../schema/sql/index.js';
import type { LoadedRelease, Problem } from '../releases/index.js';

/** The rows a release has in agent_release_artifacts: every package that is not universal. */
export function artifactRowsOf(r: LoadedRelease['release']): ArtifactRow[] {
  return artifactsOf(r).flatMap((a) =>
    a.arch === 'universal'
      ? []
      : [{ version: r.version, arch: a.arch, download_url: a.download_url, sha256: a.sha256, size: a.size }],
  );
}

export function planArtifacts(
  releases: readonly LoadedRelease[],
  rows: readonly ArtifactRow[],
): { inserts: ArtifactRow[]; problems: Problem[] } {
  const have = new Map(rows.map((r) => [`${r.version}/${r.arch}`, r]));
  const inserts: ArtifactRow[] = [];
  const problems: Problem[] = [];
  for (const loaded of releases) {
    for (const want of artifactRowsOf(loaded.release)) {
      const row = have.get(`${want.version}/${want.arch}`);
      if (row === undefined) {
        inserts.push(want);
        continue;
      }
      for (const field of ['download_url', 'sha256', 'size'] as const) {
        if (row[field] === want[field]) continue;
        const pos = loaded.positions.artifacts;
        problems.push({
          severity: 'error',
          code: 'IMMUTABLE_FIELD_CHANGED',
          file: loaded.file,
          ...(pos ? { line: pos.line, column: pos.column } : {}),
          message: `${field} of ${want.version} (${want.arch}) is ${JSON.stringify(want[field])} here but ${JSON.stringify(row[field])} in agent_release_artifacts; a package never changes once released. Restore the old value, and to ship a different package yank this version (active: false) and release a new version.`,
        });
      }
    }
  }
  return { inserts, problems };
}
