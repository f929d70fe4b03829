import { SettingsError, UsageError } from '../../schema/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, str, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';
import { isoSeconds } from '../manifests/index.js';
import { parseScheduleArg } from '../releases/index.js';

export const rolloutCommand: Command = {
  name: 'rollout',
  help: `Usage: mngd-release rollout <version> <percent> [--releases DIR] [--json]
       mngd-release rollout <version> --schedule STEPS [--start TIME] [--releases DIR] [--json]

With <percent>: sets rollout_percent in releases/<version>.yaml to <percent> (0-100), in place
(comments and layout stay; a rollout_schedule is replaced). Raising the share is the usual step
(10 -> 50 -> 100); a lower share is allowed and said so: it is a safety change (offers less),
and devices that installed it keep it.

With --schedule: writes a rollout_schedule instead (replacing rollout_percent or an earlier
schedule, and so resuming a paused one): the release ramps by itself, no pull request per step.
STEPS is PERCENT:HOLD,...,100: each share holds for its hold (m minutes, h hours, d days), the
last step (100) for ever; shares strictly increase; at most 60 days in all.

Nothing is written when the result would not validate. Prints the branch, commit and pull
request commands to run.

Flags:
  --schedule STEPS  the ramp, e.g. 1:24h,10:48h,50:7d,100
  --start TIME      when its first step starts, RFC 3339 UTC (default: now); the ramp runs
                    from this time whenever the pull request merges, so give a later one to
                    start after review
${COMMON_HELP}

${EXIT_HELP}
Here: 1 the edited file would not be valid (nothing written); 2 no such version (the closest
known one is suggested), <percent> is not a whole number from 0 to 100, or STEPS is not
PERCENT:HOLD,...,100.

Examples:
  mngd-release rollout 1.0.4 50
  mngd-release rollout 1.0.4 --schedule 1:24h,10:48h,50:7d,100 --start 2026-12-07T09:00:00Z`,
  options: { ...COMMON_OPTIONS, schedule: { type: 'string' }, start: { type: 'string' } },
  positionals: { min: 1, max: 2 },
  run(args, ctx) {
    const [version, text] = args.positionals as [string, string | undefined];
    const at = isoSeconds(ctx.now());
    const spec = str(args, 'schedule');
    if (spec !== undefined) {
      if (text !== undefined) throw new UsageError('give either <percent> or --schedule, not both');
      const steps = parseScheduleArg(spec);
      if (typeof steps === 'string')
        throw new SettingsError(`--schedule ${JSON.stringify(spec)}: ${steps}; expected e.g. 1:24h,10:48h,50:7d,100`);
      const schedule = { start: str(args, 'start') ?? at, steps };
      return runEdit(
        {
          command: 'mngd-release rollout',
          version,
          edit: { kind: 'schedule', schedule, at },
          branch: `rollout-${version}-schedule`,
          title: `Ramp ${version} out: ${steps.map((s) => `${s.percent}%`).join(' → ')}`,
          body: `Sets rollout_schedule in releases/${version}.yaml: from ${schedule.start}, ${spec}.`,
          effect: `Once published, ${version} ramps by itself; "mngd-release plan" shows the timeline.`,
        },
        args,
        ctx,
      );
    }
    if (str(args, 'start') !== undefined) throw new UsageError('--start goes with --schedule');
    if (text === undefined) throw new UsageError('give <percent> (0-100) or --schedule STEPS');
    const raw = text.replace(/%$/, '');
    if (!/^\d{1,3}$/.test(raw) || Number(raw) > 100)
      throw new SettingsError(`<percent> "${text}" is not valid; expected a whole number from 0 to 100, e.g. 50`);
    const percent = Number(raw);
    return runEdit(
      {
        command: 'mngd-release rollout',
        version,
        edit: { kind: 'rollout', percent, at },
        branch: `rollout-${version}-${percent}`,
        title: `Roll ${version} out to ${percent}%`,
        body: `Sets rollout_percent: ${percent} in releases/${version}.yaml.`,
        effect: `Once published, ${percent}% of devices are offered ${version}.`,
      },
      args,
      ctx,
    );
  },
};
