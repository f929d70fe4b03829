/**
 * The writes of a sync: multi-row INSERT and UPDATE through unnest(), a few round trips for any
 * number of rows. Only rows the plan changes are sent, so an unchanged row keeps its xmin.
 */
import type { RowValues } from '../release-row.js';
import type { Sql } from './database.js';

/** Rows per statement: few round trips, modest message sizes. */
const CHUNK = 5000;

const FIELDS = [
  ['version', 'text[]'],
  ['download_url', 'text[]'],
  ['sha256', 'text[]'],
  ['size', 'bigint[]'],
  ['release_notes', 'text[]'],
  ['min_required_version', 'text[]'],
  ['active', 'boolean[]'],
  ['channel', 'text[]'],
  ['rollout_percent', 'int[]'],
  ['yanked', 'boolean[]'],
  ['managed_by', 'text[]'],
] as const satisfies readonly (readonly [keyof RowValues, string])[];

const NAMES = FIELDS.map(([name]) => name).join(', ');
/** $2.. are the column arrays; $1 is the sync time. */
const UNNEST = `unnest(${FIELDS.map(([, type], i) => `$${i + 2}::${type}`).join(', ')}) AS u(${NAMES})`;

function params(rows: readonly RowValues[], syncedAt: Date): unknown[] {
  return [
    syncedAt.toISOString(),
    ...FIELDS.map(([name]) => rows.map((r) => (name === 'size' && r.size !== null ? String(r.size) : r[name]))),
  ];
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

export async function insertRows(sql: Sql, rows: readonly RowValues[], syncedAt: Date): Promise<void> {
  for (const part of chunks(rows)) {
    await sql.query(
      `INSERT INTO agent_releases (${NAMES}, synced_at) SELECT u.*, $1::timestamptz FROM ${UNNEST}`,
      params(part, syncedAt),
    );
  }
}

/** download_url and sha256 are never updated: the plan refuses any change to them. */
export async function updateRows(sql: Sql, rows: readonly RowValues[], syncedAt: Date): Promise<void> {
  const set = FIELDS.filter(([n]) => n !== 'version' && n !== 'download_url' && n !== 'sha256')
    .map(([n]) => `${n} = u.${n}`)
    .join(', ');
  for (const part of chunks(rows)) {
    await sql.query(
      `UPDATE agent_releases AS t SET ${set}, synced_at = $1::timestamptz FROM ${UNNEST} WHERE t.version = u.version`,
      params(part, syncedAt),
    );
  }
}
