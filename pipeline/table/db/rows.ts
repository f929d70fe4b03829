/**
 * Reading `agent_releases` as rows, whatever migrations it has had: columns that do not exist yet
 * read as their migration defaults, so `plan` never needs to alter the table to show what sync
 * would do.
 */
import { ValidationError } from '../../../schema/errors.js';
import type { Sql } from './database.js';

/** One row of agent_releases after every migration. */
export interface ReleaseRow {
  version: string;
  download_url: string;
  sha256: string;
  /** null on rows from before the pipeline (the seed had no size) */
  size: number | null;
  release_notes: string | null;
  min_required_version: string | null;
  /** what the legacy endpoint serves: true only when not yanked, stable and at 100 % */
  active: boolean;
  channel: string;
  rollout_percent: number;
  /** the release file said active: false, or its file is gone */
  yanked: boolean;
  /** null: a row from the raw-SQL era the pipeline has never written */
  managed_by: string | null;
  synced_at: Date | null;
}

/** How each column reads when a migration has not added it yet. */
const DEFAULTS: Record<string, string> = {
  size: 'NULL::bigint',
  channel: "'stable'::text",
  rollout_percent: '100',
  yanked: '(active IS NOT TRUE)',
  managed_by: 'NULL::text',
  synced_at: 'NULL::timestamptz',
};

const TEXT_COLUMNS = [
  'version',
  'download_url',
  'sha256',
  'release_notes',
  'min_required_version',
  'channel',
  'managed_by',
];

export async function tableColumns(sql: Sql): Promise<Set<string> | null> {
  const { rows } = await sql.query<{ column_name: string }>(
    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'agent_releases'",
  );
  return rows.length === 0 ? null : new Set(rows.map((r) => r.column_name));
}

/** Every row, in no particular order; [] when the table does not exist yet. */
export async function readRows(sql: Sql): Promise<ReleaseRow[]> {
  const columns = await tableColumns(sql);
  if (columns === null) return [];
  const missingSeed = ['version', 'download_url', 'sha256', 'active'].filter((c) => !columns.has(c));
  if (missingSeed.length > 0) {
    throw new ValidationError(
      'DB_TABLE_SHAPE',
      `agent_releases exists but has no column ${missingSeed.join(', ')}; expected at least the seed columns (version, download_url, sha256, active). Point DATABASE_URL at the mngd server's database.`,
    );
  }
  const select = (c: string): string => {
    if (!columns.has(c)) return `${DEFAULTS[c] ?? 'NULL'} AS ${c}`;
    if (c === 'size') return 'size::text AS size';
    if (c === 'active' || c === 'yanked') return `coalesce(${c}, ${c === 'active' ? 'false' : 'true'}) AS ${c}`;
    return TEXT_COLUMNS.includes(c) ? `${c}::text AS ${c}` : c;
  };
  const list = [
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
  ].map(select);
  const { rows } = await sql.query<Omit<ReleaseRow, 'size'> & { size: string | null }>(
    `SELECT ${list.join(', ')} FROM agent_releases`,
  );
  return rows.map((r) => ({
    ...r,
    size: r.size === null ? null : Number(r.size),
    synced_at: r.synced_at === null ? null : new Date(r.synced_at),
  }));
}
