/** Reading and writing agent_release_artifacts (the per-arch packages), next to agent_releases. */
import { ARTIFACTS_TABLE, type ArtifactRow } from '../../../schema/sql/index.js';
import type { Sql } from './database.js';

/** Every row; [] before the migration that creates the table has run. */
export async function readArtifactRows(sql: Sql): Promise<ArtifactRow[]> {
  const { rows: present } = await sql.query<{ present: boolean }>(
    `SELECT to_regclass('${ARTIFACTS_TABLE}') IS NOT NULL AS present`,
  );
  if (!present[0]?.present) return [];
  const { rows } = await sql.query<{
    version: string;
    arch: ArtifactRow['arch'];
    download_url: string;
    sha256: string;
    size: string;
  }>(`SELECT version, arch, download_url, sha256, size::text AS size FROM ${ARTIFACTS_TABLE}`);
  return rows.map((r) => ({ ...r, size: Number(r.size) }));
}

/** Inserts new rows in one statement; a row already there is left as it is (the plan refuses a change). */
export async function insertArtifactRows(sql: Sql, rows: readonly ArtifactRow[], syncedAt: Date): Promise<void> {
  if (rows.length === 0) return;
  await sql.query(
    `INSERT INTO ${ARTIFACTS_TABLE} (version, arch, download_url, sha256, size, synced_at)
     SELECT u.*, $1::timestamptz FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS u(version, arch, download_url, sha256, size)
     ON CONFLICT (version, arch) DO NOTHING`,
    [
      syncedAt.toISOString(),
      rows.map((r) => r.version),
      rows.map((r) => r.arch),
      rows.map((r) => r.download_url),
      rows.map((r) => r.sha256),
      rows.map((r) => String(r.size)),
    ],
  );
}
