/** The DDL of `agent_releases`: every migration, in the order they run. Append, never reorder. */
import type { Migration } from './migration.js';
import { seedTable } from './001_seed_table.js';
import { pipelineColumns } from './002_pipeline_columns.js';
import { versionUnique } from './003_version_unique.js';

export { LEDGER_TABLE, LEDGER_DDL, type Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [seedTable, pipelineColumns, versionUnique];

/** The table's columns after every migration, as sync reads and writes them. */
export const RELEASE_COLUMNS = [
  'version',
  'download_url',
  'sha256',
  'size',
  'release_notes',
  'min_required_version',
  'active',
  'channel',
  'rollout_percent',
  'yanked',
  'managed_by',
  'synced_at',
] as const;

/** The value of managed_by on rows the pipeline writes. */
export const MANAGED_BY = 'mngd-release';

/** The query of the server's legacy endpoint GET /api/v1/agent/latest: what old agents get. */
export const LEGACY_QUERY =
  "SELECT * FROM agent_releases WHERE active ORDER BY string_to_array(version, '.')::int[] DESC LIMIT 1";
