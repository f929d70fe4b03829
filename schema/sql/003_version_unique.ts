import type { Migration } from './migration.js';

/**
 * One row per version. A seed table may already have a unique constraint or primary key on
 * version (then this adds nothing); duplicate versions are refused before this runs, with the
 * versions named (see pipeline/table/db/migrate.ts).
 */
export const versionUnique: Migration = {
  id: '003_version_unique',
  summary: 'make version unique',
  sql: `DO $$ BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = 'agent_releases'::regclass AND i.indisunique AND i.indnkeyatts = 1
      AND i.indpred IS NULL AND a.attname = 'version'
  ) THEN
    CREATE UNIQUE INDEX agent_releases_version_uniq ON agent_releases (version);
  END IF;
END $$;`,
};
