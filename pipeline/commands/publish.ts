import { ExternalError } from '../../schema/errors.js';
import { exitCodeOf } from '../../schema/exit.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { appendSummary, onGitHub } from '../cli/github.js';
import { publishManifests, readProvenance, type ChannelResult } from '../manifests/index.js';
import { channelLine, publishMarkdown, writtenCount } from '../manifests/index.js';
import { TARGET_HELP, TARGET_OPTIONS, loadValid, preparePublish } from '../cli/setup.js';

export const publishCommand: Command = {
  name: 'publish',
  help: `Usage: mngd-release publish [--refresh] [--dry-run] [--target T] [--endpoint URL] [--releases DIR] [--json]

Builds each channel's manifests from releases/, in both specs, signs them with the key(s) in
MNGD_SIGNING_KEY and compares each with what the target holds. Spec 2 goes to v2/latest.json
(v2/channels/<name>/latest.json), history history/v2/<channel>/<sequence>.json, its own sequence;
spec 1 stays at latest.json (channels/<name>/latest.json), history/<channel>/<sequence>.json, as
the conservative projection for older agents (only releases every supported Mac runs; a floor
they cannot reach dropped). Each line says what spec-1 readers get that spec-2 readers do not.
Only a change is written: first the sequence floor (sequence-floor/[v2/]<channel>.json, so a
sequence never repeats even with latest.json and history/ gone), then the immutable copy, then
latest.json, with Content-Type application/json and the policy's cache_control. Each write is
conditional on what was read (If-Match / If-None-Match), so two runs never overwrite each other.
First, this machine's clock is held against the object store's (the Date header of its answer to
a listing; a directory target has none, and skips this): more than MNGD_CLOCK_SKEW_SECONDS ahead
is refused (exit 3, CLOCK_AHEAD: agents would refuse what it signs), behind (CLOCK_BEHIND: it
would be expired). So is a clock behind the last publish's published_at by more than that
(CLOCK_BEHIND). A latest.json, floor or history copy more than a day past the store's clock (a
publish with a clock ahead left it; every agent refused it) is set aside with a warning, and the
sequence is now again. The spec-2 manifest carries its provenance: GITHUB_SHA (else the
repository's HEAD), the workflow run and GITHUB_ACTOR.

Flags:
  --refresh        also re-sign an unchanged manifest whose expiry is within the policy's
                   refresh_window_days (the scheduled refresh); an expired one is always re-signed
  --dry-run        say what would be written, write nothing (still needs the signing key)
${TARGET_HELP}
${COMMON_HELP}

Environment:
  MNGD_SIGNING_KEY one or more private keys "ed25519:<base64>" (comma or newline separated while
                   rotating); each must be listed in the policy's trusted_keys. Never logged.
  MNGD_CLOCK_SKEW_SECONDS  how far this machine's clock may be from the object store's, either
                   way, or behind the last publish's published_at (default 300, at most 86400);
                   further is refused (exit 3, CLOCK_AHEAD or CLOCK_BEHIND)
  AWS_*            the AWS SDK's default credential chain and region

${EXIT_HELP} A lost race with another publish (exit 3): re-run.

Example:
  MNGD_SIGNING_KEY=ed25519:... mngd-release publish --target s3://mngd-updates/agent
  stable: published latest.json sequence 1795744800 (previous 1795700000), expires 2026-12-11T02:00:00Z: the releases changed; offers 1.0.3 (10%), 1.0.2; floor none
  stable: published v2/latest.json sequence 1795744800 (previous 1795700000), expires 2026-12-11T02:00:00Z: the releases changed; offers 1.1.0, 1.0.3 (10%), 1.0.2; floor none
      spec-1 readers: 1.1.0 not offered (requires macOS ≥ 14.0)`,
  options: { ...COMMON_OPTIONS, ...TARGET_OPTIONS, refresh: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const dryRun = flag(args, 'dry-run');
    const loaded = await loadValid(ctx, 'mngd-release publish', str(args, 'releases'), json);
    const { keys, store, clockSkewSeconds } = preparePublish(ctx, loaded, {
      target: str(args, 'target'),
      endpoint: str(args, 'endpoint'),
    });
    const done: ChannelResult[] = [];
    try {
      await publishManifests({
        releases: loaded.releases,
        policy: loaded.policy,
        keys,
        store,
        now: ctx.now(),
        clockSkewSeconds,
        refresh: flag(args, 'refresh'),
        dryRun,
        provenance: await readProvenance(loaded.set.root, ctx.env),
        onChannel: (r) => {
          done.push(r);
          if (!json) ctx.stdout.write(channelLine(r, dryRun));
        },
      });
    } catch (err) {
      const left = loaded.policy.channels.slice(done.length);
      // Where it stopped and what is done; the error itself is the line that follows (reportError).
      // "Re-run" only where a re-run can cure it: not a clock, a setting or a bad input.
      const retry = exitCodeOf(err) === EXIT.EXTERNAL && !(err instanceof ExternalError && err.namesItsFix);
      ctx.stderr.write(
        `publish stopped at channel "${left[0]}"; done: ${done.map((r) => `${r.channel} (${r.action})`).join(', ') || 'nothing'}; ` +
          `not done: ${left.join(', ')}. latest.json of "${left[0]}" was not replaced${retry ? '; re-run to converge' : ''}.\n`,
      );
      throw err;
    } finally {
      store.close?.();
    }
    if (json) ctx.stdout.write(`${JSON.stringify({ target: store.location, dryRun, channels: done }, null, 2)}\n`);
    else {
      ctx.stdout.write(`${dryRun ? 'Would write' : 'Wrote'} ${writtenCount(done)} to ${store.location}.\n`);
    }
    if (onGitHub(ctx.env))
      await appendSummary(
        `## mngd-release publish${dryRun ? ' (dry run)' : ''}\n\n${publishMarkdown(store.location, done, dryRun)}`,
      );
    return EXIT.OK;
  },
};
