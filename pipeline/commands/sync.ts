import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { emitPlan, loadValidSet, releasesDirOf } from '../cli/plan-output.js';
import { blockingProblems, type Plan } from '../table/index.js';
import { planFor, SyncRefusedError, syncReleases } from '../table/index.js';
import { DATABASE_HELP } from './plan.js';

function syncedLine(plan: Plan, migrated: readonly string[]): string {
  const adopted = plan.updates.filter((u) => u.adopt).length;
  const parts = [
    `inserted ${plan.inserts.length}`,
    `updated ${plan.updates.length - adopted}`,
    `yanked ${plan.yanks.length}`,
  ];
  if (adopted > 0) parts.push(`adopted ${adopted}`);
  if (migrated.length > 0) parts.push(`ran ${migrated.length} migration(s)`);
  return `Synced in one transaction: ${parts.join(', ')}.`;
}

export const syncCommand: Command = {
  name: 'sync',
  help: `Usage: mngd-release sync [--releases DIR] [--dry-run] [--yank-unmanaged] [--json]

Applies the plan (see "mngd-release plan") to agent_releases in one transaction under an
advisory lock, so two syncs never interleave: runs pending migrations, inserts new versions,
updates mutable fields, and sets active = false on rows whose file was removed. It never deletes
a row. With nothing to change it writes nothing.

It refuses, writing nothing, when a release changes download_url, sha256 or size of a version
already in the table, or when the table has rows the pipeline never managed (the raw-SQL era)
with no release file: run "mngd-release import" to write their files, or pass --yank-unmanaged.

The table's active column is what old agents get from GET /api/v1/agent/latest, so it is true
only for a release that is active, on stable and at 100 %.

Flags:
  --dry-run          print the plan, change nothing (same as "mngd-release plan")
  --yank-unmanaged   set active = false on unmanaged rows that have no release file
${COMMON_HELP}

${DATABASE_HELP}

${EXIT_HELP}

Example:
  mngd-release sync --dry-run
  mngd-release sync`,
  options: { ...COMMON_OPTIONS, 'dry-run': { type: 'boolean' }, 'yank-unmanaged': { type: 'boolean' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const set = await loadValidSet(args, ctx, json, 'sync');
    if (set === null) return EXIT.INVALID;
    const opts = { yankUnmanaged: flag(args, 'yank-unmanaged'), releasesDir: releasesDirOf(set), now: ctx.now };
    const db = await openDatabase(set.root, ctx.env);
    try {
      if (flag(args, 'dry-run')) {
        const plan = await planFor(db, set, opts);
        await emitPlan(ctx, json, {
          plan,
          target: db.label,
          extra: { dry_run: true, wrote: false },
          footer: 'Dry run: nothing was written.',
        });
        return blockingProblems(plan).length > 0 ? EXIT.INVALID : EXIT.OK;
      }
      try {
        const r = await syncReleases(db, set, opts);
        const footer = r.wrote ? syncedLine(r.plan, r.migrated) : 'Nothing to change: nothing was written.';
        await emitPlan(ctx, json, {
          plan: r.plan,
          target: db.label,
          extra: { dry_run: false, wrote: r.wrote, migrated: r.migrated },
          footer,
        });
        return EXIT.OK;
      } catch (err) {
        if (!(err instanceof SyncRefusedError)) throw err;
        // Show the plan that was refused (read again outside the rolled-back transaction).
        const plan = await planFor(db, set, opts);
        await emitPlan(ctx, json, {
          plan,
          target: db.label,
          extra: { dry_run: false, wrote: false },
          footer: `${err.message}`,
        });
        return EXIT.INVALID;
      }
    } finally {
      await db.close();
    }
  },
};
