import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { loadReleaseSet } from '../releases/index.js';
import { hasErrors } from '../releases/index.js';
import { effectiveFloor, listedOn, offeredText, type Offered } from '../../schema/channel.js';
import { plural, reportProblems } from '../cli/report.js';
import { signingKeyIdsInUse } from '../manifests/index.js';
import { signingKeyProblems } from '../releases/index.js';

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: mngd-release validate [--releases DIR] [--json]

Checks releases/: the policy, every <version>.yaml against the schema, the file names, and the
rules across files (duplicate versions, a copy-pasted sha256, a floor that would lock a channel
out). Every problem is reported with file, line and column, not just the first. No network.
When MNGD_SIGNING_KEY or the public MNGD_SIGNING_KEY_ID (key ids, comma separated) is set, the
key it names must be in trusted_keys (POLICY_KEY_STILL_SIGNING): every publish would fail otherwise.

Flags:
${COMMON_HELP}

Under GitHub Actions (GITHUB_ACTIONS=true) every problem is also an annotation on its line,
and the job summary lists them all.

${EXIT_HELP}

Example:
  mngd-release validate
  releases/1.0.4.yaml:4:9: error RELEASE_BAD_SHA256: sha256 has uppercase letters; ...`,
  options: { ...COMMON_OPTIONS },
  async run(args, ctx) {
    const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
    const json = flag(args, 'json');
    // The signing key in use must stay trusted (MNGD_SIGNING_KEY, or its public MNGD_SIGNING_KEY_ID).
    if (set.policy !== null)
      set.problems.push(...signingKeyProblems(set.policy, signingKeyIdsInUse(ctx.env), null, set.policyFile));
    const ok = !hasErrors(set.problems);
    await reportProblems(ctx, 'mngd-release validate', set.problems, { json });
    const channels = ok && set.policy ? set.policy.channels : [];
    const all = set.releases.map((r) => r.release);
    const summary = channels.map((c) => {
      const offered = listedOn(c, all, set.policy?.manifest.max_releases ?? 20);
      return {
        channel: c,
        offers: offered.map(({ version, rollout_percent }): Offered => ({ version, rollout_percent })),
        floor: effectiveFloor(c, all),
      };
    });
    if (json) {
      ctx.stdout.write(
        `${JSON.stringify({ ok, releases: set.releases.length, problems: set.problems, channels: summary }, null, 2)}\n`,
      );
    } else if (ok) {
      ctx.stdout.write(`${plural(set.releases.length, 'release')} and the policy are valid.\n`);
      for (const s of summary)
        ctx.stdout.write(`  ${s.channel}: offers ${offeredText(s.offers)}; floor ${s.floor ?? 'none'}\n`);
    } else {
      const files = new Set(set.problems.filter((p) => p.severity === 'error').map((p) => p.file)).size;
      ctx.stderr.write(
        `\n${plural(set.problems.filter((p) => p.severity === 'error').length, 'problem')} in ${plural(files, 'file')}: fix them and run "mngd-release validate" again.\n`,
      );
    }
    return ok ? EXIT.OK : EXIT.INVALID;
  },
};
