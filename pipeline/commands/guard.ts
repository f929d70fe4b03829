import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { appendSummary, onGitHub, setOutput } from '../cli/github.js';
import { runGuard } from '../cli/guard.js';
import { loadValid } from '../cli/setup.js';
import { renderGuardMarkdown, renderGuardText } from '../fleet/index.js';
import { openDatabase } from '../table/index.js';

export const guardCommand: Command = {
  name: 'guard',
  help: `Usage: mngd-release guard [--dry-run] [--channel NAME] [--releases DIR] [--json]

Halts a failing rollout. Per channel and per version its manifest offers, over the policy's
guard window, from the events agents report (agent_update_events):
  failure rate = (failed installs + health-gate rollbacks) / install attempts
Fewer attempts than min_attempts: not judged. A rate above max_failure_rate, or more rollbacks
than max_rollbacks: the version is halted like "mngd-release halt", with the evidence as the
reason (halted: {reason, at} in its release file, in place). The guard never raises a share and
never resumes a release; a halted or yanked release is not offered, so it is not judged again:
a rerun with nothing new changes nothing. Reads the database only.

The release-guard workflow runs it every 15 minutes with --dry-run and halts each version it
names through the break-glass release-halt workflow (publish at once, then a pull request).

Policy (releases/policy.yaml), with the defaults:
  guard:
    window: 6h              # 30m, 6h, 2d
    min_attempts: 20
    max_failure_rate: 0.1   # 10 %
    max_rollbacks: 5

Flags:
  --dry-run        decide and report only; write nothing
  --channel NAME   only this channel
${COMMON_HELP}

Environment:
  DATABASE_URL     the mngd server's PostgreSQL (default: the embedded PGlite under the state folder)

${EXIT_HELP}
Here: 1 a version breached but halting it would leave releases/ invalid (the summary says why).
Under GitHub Actions: the step output "halts" (a JSON list of {version, channel, reason}) and a
job summary with the evidence.

Example:
  mngd-release guard
  guard: window 6h, min_attempts 20, max_failure_rate 10.0 %, max_rollbacks 5
    stable 1.0.4: HALT (9 of 30 install attempt(s) of 1.0.4 on stable failed or rolled back ...)
  halted 1.0.4 (releases/1.0.4.yaml): guard: 9 of 30 ...`,
  options: { ...COMMON_OPTIONS, channel: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const dryRun = flag(args, 'dry-run');
    const releasesDir = str(args, 'releases');
    const loaded = await loadValid(ctx, 'mngd-release guard', releasesDir, json);
    const only = str(args, 'channel');
    const channels = only === undefined ? [...loaded.policy.channels] : [only];
    const db = await openDatabase(loaded.set.root, ctx.env);
    let run;
    try {
      run = await runGuard(db, loaded, { cwd: ctx.cwd, releasesDir, channels, now: ctx.now(), dryRun });
    } finally {
      await db.close();
    }
    const { settings, decisions, halts } = run;
    if (json) ctx.stdout.write(`${JSON.stringify({ settings, decisions, halts }, null, 2)}\n`);
    else ctx.stdout.write(renderGuardText(settings, decisions, halts));
    if (onGitHub(ctx.env)) {
      const planned = halts
        .filter((h) => h.result !== 'refused')
        .map(({ version, channel, reason }) => ({ version, channel, reason }));
      await setOutput('halts', JSON.stringify(planned));
      await appendSummary(renderGuardMarkdown(settings, decisions, halts));
    }
    return halts.some((h) => h.result === 'refused') ? EXIT.INVALID : EXIT.OK;
  },
};
