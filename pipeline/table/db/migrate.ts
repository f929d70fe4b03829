/**
 * Runs the pending migrations of agent_releases (schema/sql) inside the caller's transaction. It
 * only reads when nothing is pending, so a sync with nothing to do still writes nothing.
 */
import { LEDGER_DDL, LEDGER_TABLE, MIGRATIONS, type Migration } from '../../../schema/sql/index.js';
import { ValidationError } from '../../../schema/errors.js';
import type { Sql } from './database.js';
import { tableColumns } from './rows.js';

export async function pendingMigrations(sql: Sql): Promise<Migration[]> {
  const { rows } = await sql.query<{ present: boolean }>(
    `SELECT to_regclass('${LEDGER_TABLE}') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return [...MIGRATIONS];
  const done = await sql.query<{ id: string }>(`SELECT id FROM ${LEDGER_TABLE}`);
  const ids = new Set(done.rows.map((r) => r.id));
  return MIGRATIONS.filter((m) => !ids.has(m.id));
}

/** Versions that appear more than once: they cannot be made unique without choosing a row. */
async function duplicateVersions(sql: Sql): Promise<string[]> {
  if ((await tableColumns(sql)) === null) return [];
  const { rows } = await sql.query<{ version: string }>(
    'SELECT version::text AS version FROM agent_releases GROUP BY version HAVING count(*) > 1 ORDER BY 1',
  );
  return rows.map((r) => r.version);
}

/** Applies what is pending; returns the ids it ran. Call under the sync's advisory lock. */
export async function migrate(sql: Sql): Promise<string[]> {
  const pending = await pendingMigrations(sql);
  if (pending.length === 0) return [];
  const duplicates = await duplicateVersions(sql);
  if (duplicates.length > 0) {
    throw new ValidationError(
      'DB_DUPLICATE_VERSIONS',
      `agent_releases has more than one row for version ${duplicates.join(', ')}; expected one row per version. Delete or renumber the extra rows by hand (SELECT * FROM agent_releases WHERE version = '…'), then sync again.`,
    );
  }
  await sql.exec(LEDGER_DDL);
  for (const m of pending) {
    await sql.exec(m.sql);
    await sql.query(`INSERT INTO ${LEDGER_TABLE} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [m.id]);
  }
  return pending.map((m) => m.id);
}
