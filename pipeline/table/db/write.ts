/**
 * The writes of a sync: multi-row INSERT and UPDATE through unnest(), a few round trips for any
 * number of rows. Only rows the plan changes are sent, so an unchanged row keeps its xmin.
 */
import { CASELESS_COLUMNS, UPDATED_COLUMNS, WRITTEN_COLUMNS } from '../../../schema/sql/columns.js';
import type { RowValues } from '../release-row.js';
import type { Sql } from './database.js';

/** Rows per statement: few round trips, modest message sizes. */
const CHUNK = 5000;

const NAMES = WRITTEN_COLUMNS.map((c) => c.name).join(', ');
/** $2.. are the column arrays; $1 is the sync time. */
const UNNEST = `unnest(${WRITTEN_COLUMNS.map((c, i) => `$${i + 2}::${c.type}[]`).join(', ')}) AS u(${NAMES})`;

function params(rows: readonly RowValues[], syncedAt: Date): unknown[] {
  return [
    syncedAt.toISOString(),
    ...WRITTEN_COLUMNS.map((c) =>
      rows.map((r) => {
        const v = r[c.name];
        return c.type === 'bigint' && v !== null ? String(v) : v;
      }),
    ),
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

/**
 * Immutable columns are never updated (the plan refuses any change to them): a size only filled
 * in, a hash only written lowercase (the same value: the CASE keeps any other difference out).
 */
export async function updateRows(sql: Sql, rows: readonly RowValues[], syncedAt: Date): Promise<void> {
  const set = [
    ...UPDATED_COLUMNS.map((c) => `${c.name} = u.${c.name}`),
    ...CASELESS_COLUMNS.map((n) => `${n} = CASE WHEN lower(t.${n}) = lower(u.${n}) THEN u.${n} ELSE t.${n} END`),
  ].join(', ');
  for (const part of chunks(rows)) {
    await sql.query(
      `UPDATE agent_releases AS t SET ${set}, synced_at = $1::timestamptz FROM ${UNNEST} WHERE t.version = u.version`,
      params(part, syncedAt),
    );
  }
}
