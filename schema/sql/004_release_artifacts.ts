import type { Migration } from './migration.js';

/**
 * The per-architecture packages (docs/DESIGN.md): agent_releases keeps its legacy columns for
 * the universal package (the mngd server and the legacy endpoint read them); every arm64 and
 * x86_64 package of a release is a row here, keyed by version and arch. A new table: no row of
 * agent_releases changes, so nothing is lost. A release without a universal package still fills
 * the seed's NOT NULL columns with a copy of its x86_64 (else arm64) package, never served to the
 * legacy endpoint (its `active` is false).
 */
export const releaseArtifacts: Migration = {
  id: '004_release_artifacts',
  summary: 'create agent_release_artifacts (the arm64 and x86_64 packages of each version)',
  sql: `CREATE TABLE IF NOT EXISTS agent_release_artifacts (
  version text NOT NULL,
  arch text NOT NULL,
  download_url text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (version, arch),
  CONSTRAINT agent_release_artifacts_arch CHECK (arch IN ('arm64', 'x86_64')),
  CONSTRAINT agent_release_artifacts_size_positive CHECK (size > 0)
);`,
};

/** One row of agent_release_artifacts (synced_at aside). */
export interface ArtifactRow {
  version: string;
  arch: 'arm64' | 'x86_64';
  download_url: string;
  sha256: string;
  size: number;
}

export const ARTIFACTS_TABLE = 'agent_release_artifacts';
