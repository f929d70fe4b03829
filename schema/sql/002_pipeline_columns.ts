import type { Migration } from './migration.js';

/**
 * The columns the pipeline needs, added in place so existing rows and the seed columns stay
 * untouched. Rows from the raw-SQL era keep managed_by NULL: plan flags them as unmanaged.
 *
 * `yanked` keeps the release file's own `active: false` apart from the legacy `active` column,
 * which is only true for a release every stable agent may take (active, stable, 100 %). Without
 * it a beta or staged release and a yanked one would look the same in the table. Existing rows
 * start as yanked exactly when they are not active today.
 */
export const pipelineColumns: Migration = {
  id: '002_pipeline_columns',
  summary: 'add size, channel, rollout_percent, yanked, managed_by, synced_at',
  sql: `ALTER TABLE agent_releases
  ADD COLUMN IF NOT EXISTS size bigint,
  ADD COLUMN IF NOT EXISTS channel text NOT NULL DEFAULT 'stable',
  ADD COLUMN IF NOT EXISTS rollout_percent integer NOT NULL DEFAULT 100,
  ADD COLUMN IF NOT EXISTS yanked boolean,
  ADD COLUMN IF NOT EXISTS managed_by text,
  ADD COLUMN IF NOT EXISTS synced_at timestamptz;
UPDATE agent_releases SET yanked = (active IS NOT TRUE) WHERE yanked IS NULL;
ALTER TABLE agent_releases ALTER COLUMN yanked SET DEFAULT false, ALTER COLUMN yanked SET NOT NULL;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'agent_releases_rollout_percent_range' AND conrelid = 'agent_releases'::regclass) THEN
    ALTER TABLE agent_releases ADD CONSTRAINT agent_releases_rollout_percent_range CHECK (rollout_percent BETWEEN 0 AND 100);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'agent_releases_size_positive' AND conrelid = 'agent_releases'::regclass) THEN
    ALTER TABLE agent_releases ADD CONSTRAINT agent_releases_size_positive CHECK (size IS NULL OR size > 0);
  END IF;
END $$;`,
};
