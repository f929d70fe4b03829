import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { blockingProblems, isNoop } from '../table/index.js';
import { emitPlan, loadValidSet, releasesDirOf } from '../cli/plan-output.js';
import { planFor } from '../table/index.js';
import { addManifestSection, publishWouldWrite } from '../manifests/index.js';
import { tableBehindSection } from '../table/index.js';
import { readBasePolicy } from '../releases/index.js';
import { policySection, scheduleSection } from '../table/index.js';
import { activeDevicesByChannel } from '../fleet/index.js';
import { SIGNING_KEY_ID_ENV, signingKeyIdsInUse } from '../manifests/index.js';
import { fleetImpact, impactSection, releaseFacts } from '../fleet/index.js';
import { annotate, onGitHub } from '../cli/github.js';
import { loadEventProblems } from '../cli/load-event-lines.js';
import { commentPlan } from '../cli/pr-comment.js';
import { renderPlanMarkdown } from '../table/index.js';

export const DATABASE_HELP = `Database: DATABASE_URL (postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem;
the password is never printed). Without it: embedded PGlite in <repo>/.state/pglite
(or $MNGD_STATE_DIR/pglite).`;

/**
 * What to do with the plan, true to where it runs: in a pull request merging applies it; on a
 * machine sync applies the table and apply the manifests too (null: plan did not read them).
 */
function footerOf(tableNoop: boolean, manifests: boolean | null, inPullRequest: boolean): string {
  if (inPullRequest)
    return tableNoop && manifests !== true
      ? 'Merging changes nothing in the table: it already matches.'
      : 'Merging applies it: the release workflow runs "mngd-release apply" on main.';
  if (tableNoop)
    return manifests === true
      ? 'The table already matches git; the manifests do not: "mngd-release apply" (or publish) writes them.'
      : manifests === false
        ? 'Nothing to apply: the table and the published manifests already match git.'
        : 'Nothing for "mngd-release sync" to do: the table already matches git.';
  return manifests === null
    ? 'Run "mngd-release sync" to apply it (the manifests were not planned: --skip-manifests).'
    : 'Run "mngd-release apply" to apply it: verify the packages, sync the table, publish the manifests.';
}

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: mngd-release plan [--releases DIR] [--changed-since REF] [--yank-unmanaged] [--skip-manifests]
                         [--table-label TEXT] [--pr-comment] [--json]

Compares the release files with the agent_releases table and prints what "mngd-release sync"
would do: rows to insert, fields to update (old -> new), rows to yank, rows the pipeline never
managed, changed immutable fields (download_url, sha256, size), the effective floor per channel
before -> after, what the legacy endpoint GET /api/v1/agent/latest serves before -> after, and
load events (floor raised, newest release yanked, channel left empty) as loud warnings. Each
release with a rollout_schedule is shown as a timeline in UTC: the share and the expected
devices at each step (from the fleet's reports in the same database, else n/a), the step in
force now and when the next starts; the Markdown summary adds a Mermaid chart of the ramp.
Where the database holds what the fleet reports (agent_devices), the numbers behind the load
events: the active devices a raised floor blocks (and those it leaves unsupported, by macOS), the
devices a yank or halt leaves on that version.
Read-only: it takes no lock and runs no migration.
The signing key in use (key ids from MNGD_SIGNING_KEY, or the public ${SIGNING_KEY_ID_ENV} where
the secret is absent, as in a pull request) must stay in trusted_keys: removing it is an error,
since every publish, a yank included, would then fail.

Flags:
  --yank-unmanaged   plan as if unmanaged rows without a file were to be yanked (see sync)
  --skip-manifests   leave out what publish would change in the live manifests (target from
                     MNGD_PUBLISH_TARGET or the policy; read-only, no key needed)
  --pr-comment     under GitHub Actions on a pull request: also post the plan as one sticky
                   comment, load events first, edited in place on every run (GITHUB_TOKEN with
                   pull-requests: write; a fork's pull request gets the job summary only)
  --changed-since REF  also list every change to releases/policy.yaml against the git ref REF
                     (keys, URL prefixes, channels, lifetimes, target); a trusted_keys change is
                     a load event
  --table-label TEXT   name the table in the heading as TEXT instead of its URL or folder (the
                     pull-request check: "main's releases at the base commit 1a2b3c4d5e6f")
${COMMON_HELP}

${DATABASE_HELP}

Under GitHub Actions the plan also goes to the job summary (Markdown) and every error is an
annotation on its YAML line; in a pull request (or a merge queue) it ends with what merging does.

${EXIT_HELP} A plan that sync would refuse exits 1.

Example:
  DATABASE_URL=postgres://deploy@db.internal/mngd?sslmode=verify-full mngd-release plan`,
  options: {
    ...COMMON_OPTIONS,
    'yank-unmanaged': { type: 'boolean' },
    'skip-manifests': { type: 'boolean' },
    'changed-since': { type: 'string' },
    'table-label': { type: 'string' },
    'pr-comment': { type: 'boolean' },
  },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const set = await loadValidSet(args, ctx, json, 'plan');
    if (set === null) return EXIT.INVALID;
    const ref = str(args, 'changed-since');
    const inUse = signingKeyIdsInUse(ctx.env);
    const base = ref === undefined ? undefined : await readBasePolicy(set.root, set.policyFile, ref);
    const db = await openDatabase(set.root, ctx.env);
    try {
      const plan = await planFor(db, set, {
        yankUnmanaged: flag(args, 'yank-unmanaged'),
        releasesDir: releasesDirOf(set),
      });
      const policy = set.policy
        ? policySection({
            policy: set.policy,
            policyFile: set.policyFile,
            inUse,
            ...(ref !== undefined && base ? { base: { ref, policy: base.policy } } : {}),
          })
        : null;
      if (policy !== null) plan.sections.push(policy);
      if (!flag(args, 'skip-manifests')) await addManifestSection(plan, set, ctx);
      const schedules = scheduleSection({
        releases: set.releases.map((r) => r.release),
        now: ctx.now(),
        // The fleet's numbers where agents report (a database without agent_devices yet: n/a).
        activeDevices: await activeDevicesByChannel(db, ctx.now()).catch(() => null),
        ringSizes: Object.fromEntries(Object.entries(set.rings).map(([name, ids]) => [name, ids.length])),
      });
      if (schedules !== null) plan.sections.push(schedules);
      // Real numbers where the database holds what the fleet reported.
      const impact = await fleetImpact(db, plan, {
        now: ctx.now(),
        ...releaseFacts(set.releases.map((r) => r.release)),
      });
      if (impact !== null) plan.sections.push(impactSection(impact, plan));
      const behind = tableBehindSection(plan);
      if (behind !== null) plan.sections.push(behind);
      const blocked = blockingProblems(plan).length > 0;
      // In a pull request nobody runs sync: merging does (the release workflow's apply).
      const event = ctx.env['GITHUB_EVENT_NAME'];
      const inPullRequest = event === 'pull_request' || event === 'merge_group';
      await emitPlan(ctx, json, {
        plan,
        target: str(args, 'table-label') ?? db.label,
        footer: blocked
          ? (policy?.problems ?? []).length > 0 && blockingProblems({ ...plan, sections: [] }).length === 0
            ? 'The policy change would make every publish fail: fix the errors above.'
            : 'Sync would refuse this plan: fix the errors above.'
          : footerOf(isNoop(plan), publishWouldWrite(plan.sections), inPullRequest),
      });
      if (onGitHub(ctx.env)) {
        // Load events as warnings on the YAML lines that cause them, and (--pr-comment) the plan
        // as the pull request's sticky comment, load events first.
        const events = [...plan.warnings, ...plan.sections.flatMap((s) => s.warnings ?? [])];
        await annotate(loadEventProblems(events, set));
        if (flag(args, 'pr-comment'))
          await commentPlan(
            ctx.env,
            (l) => ctx.stderr.write(`${l}\n`),
            renderPlanMarkdown(plan, { target: str(args, 'table-label') ?? db.label }),
            events,
          );
      }
      return blocked ? EXIT.INVALID : EXIT.OK;
    } finally {
      await db.close();
    }
  },
};
