import type { Migration } from './migration.js';

/**
 * The table as the mngd server created it before the pipeline existed: the seed columns only.
 * On a server that already has it (with whatever id or timestamp columns it added) this does
 * nothing.
 */
export const seedTable: Migration = {
  id: '001_seed_table',
  summary: 'create agent_releases with the seed columns if it does not exist',
  sql: `CREATE TABLE IF NOT EXISTS agent_releases (
  version text NOT NULL,
  download_url text NOT NULL,
  sha256 text NOT NULL,
  release_notes text,
  min_required_version text,
  active boolean NOT NULL DEFAULT true
);`,
};
