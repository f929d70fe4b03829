/** The DDL of `agent_releases`: every migration, in the order they run. Append, never reorder. */
import type { Migration } from './migration.js';
import { seedTable } from './001_seed_table.js';
import { pipelineColumns } from './002_pipeline_columns.js';
import { versionUnique } from './003_version_unique.js';
import { releaseArtifacts } from './004_release_artifacts.js';

export { LEDGER_TABLE, LEDGER_DDL, type Migration } from './migration.js';

export { ARTIFACTS_TABLE, type ArtifactRow } from './004_release_artifacts.js';

export const MIGRATIONS: readonly Migration[] = [seedTable, pipelineColumns, versionUnique, releaseArtifacts];

/** The value of managed_by on rows the pipeline writes. */
export const MANAGED_BY = 'mngd-release';

/** The query of the server's legacy endpoint GET /api/v1/agent/latest: what old agents get. */
export const LEGACY_QUERY =
  "SELECT * FROM agent_releases WHERE active ORDER BY string_to_array(version, '.')::int[] DESC LIMIT 1";
