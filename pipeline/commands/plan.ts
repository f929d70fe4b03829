import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, type Command } from '../cli/command.js';
import { openDatabase } from '../table/db/connect.js';
import { blockingProblems, isNoop } from '../table/plan.js';
import { emitPlan, loadValidSet, releasesDirOf } from '../cli/plan-output.js';
import { planFor } from '../table/sync.js';
import { addManifestSection } from '../manifests/plan-section.js';
import { tableBehindSection } from '../table/behind.js';

export const DATABASE_HELP = `Database: DATABASE_URL (postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem;
the password is never printed). Without it: embedded PGlite in <repo>/.state/pglite
(or $MNGD_STATE_DIR/pglite).`;

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: mngd-release plan [--releases DIR] [--yank-unmanaged] [--skip-manifests] [--json]

Compares the release files with the agent_releases table and prints what "mngd-release sync"
would do: rows to insert, fields to update (old -> new), rows to yank, rows the pipeline never
managed, changed immutable fields (download_url, sha256, size), the effective floor per channel
before -> after, what the legacy endpoint GET /api/v1/agent/latest serves before -> after, and
load events (floor raised, newest release yanked, channel left empty) as loud warnings.
Read-only: it takes no lock and runs no migration.

Flags:
  --yank-unmanaged   plan as if unmanaged rows without a file were to be yanked (see sync)
  --skip-manifests   leave out what publish would change in the live manifests (target from
                     MNGD_PUBLISH_TARGET or the policy; read-only, no key needed)
${COMMON_HELP}

${DATABASE_HELP}

Under GitHub Actions the plan also goes to the job summary (Markdown) and every error is an
annotation on its YAML line.

${EXIT_HELP} A plan that sync would refuse exits 1.

Example:
  DATABASE_URL=postgres://deploy@db.internal/mngd?sslmode=verify-full mngd-release plan`,
  options: { ...COMMON_OPTIONS, 'yank-unmanaged': { type: 'boolean' }, 'skip-manifests': { type: 'boolean' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const set = await loadValidSet(args, ctx, json, 'plan');
    if (set === null) return EXIT.INVALID;
    const db = await openDatabase(ctx.cwd, ctx.env);
    try {
      const plan = await planFor(db, set, {
        yankUnmanaged: flag(args, 'yank-unmanaged'),
        releasesDir: releasesDirOf(set),
      });
      if (!flag(args, 'skip-manifests')) await addManifestSection(plan, set, ctx);
      const behind = tableBehindSection(plan);
      if (behind !== null) plan.sections.push(behind);
      const blocked = blockingProblems(plan).length > 0;
      await emitPlan(ctx, json, {
        plan,
        target: db.label,
        footer: blocked
          ? 'Sync would refuse this plan: fix the errors above.'
          : isNoop(plan)
            ? 'Nothing for "mngd-release sync" to do: the table already matches git.'
            : 'Run "mngd-release sync" to apply it.',
      });
      return blocked ? EXIT.INVALID : EXIT.OK;
    } finally {
      await db.close();
    }
  },
};
