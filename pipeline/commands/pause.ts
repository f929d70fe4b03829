import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';
import { isoSeconds } from '../manifests/index.js';

export const pauseCommand: Command = {
  name: 'pause',
  help: `Usage: mngd-release pause <version> [--releases DIR] [--json]

Pauses a rollout in releases/<version>.yaml, in place (comments and layout stay):
  - a rollout_schedule gets paused_at: <now, UTC>: the ramp stops there and the share in force
    at that moment holds until resumed (no later step starts). Paused before its start, the
    share is 0 for good: offered to nobody, like rollout_percent: 0.
  - a fixed rollout_percent has nothing to freeze: it is set to 0 (no further device).
A paused release stays listed in the manifests; devices that installed it keep it. Resume
with "mngd-release rollout <version> <percent>" or "rollout <version> --schedule ...". Nothing
is written when the result would not validate (a release stopped at 0 cannot carry the floor of
its channel: halt or yank it instead, which removes its floor too). Prints the branch, commit
and pull request commands to run.

Flags:
${COMMON_HELP}

${EXIT_HELP}
Here: 1 the edited file would not be valid (nothing written); 2 no such version (the closest
known one is suggested).

Example:
  mngd-release pause 1.0.4`,
  options: { ...COMMON_OPTIONS },
  positionals: { min: 1, max: 1 },
  run(args, ctx) {
    const version = args.positionals[0]!;
    return runEdit(
      {
        command: 'mngd-release pause',
        version,
        edit: { kind: 'pause', at: isoSeconds(ctx.now()) },
        branch: `pause-${version}`,
        title: `Pause ${version}`,
        body: `Pauses the rollout of ${version} in releases/${version}.yaml: no further device is offered it beyond the share in force now.`,
        effect: `Once published, no further device is offered ${version} beyond that share.`,
      },
      args,
      ctx,
    );
  },
};
