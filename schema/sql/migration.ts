/**
 * The shape of one migration of `agent_releases`. Migrations run in order, inside the sync's
 * transaction and under its advisory lock; each one is idempotent by itself (IF NOT EXISTS and
 * guarded updates), and the ledger table records which ran so later syncs do not even take the
 * ALTER TABLE lock again.
 */
export interface Migration {
  /** ordered, never renamed: "001_seed_table" */
  id: string;
  /** one line for the plan: what it does to the table */
  summary: string;
  /** one or more SQL statements, no parameters */
  sql: string;
}

/** Records applied migrations. Kept apart from agent_releases so the server's reads never see it. */
export const LEDGER_TABLE = 'mngd_schema_migrations';

export const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
  id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;
