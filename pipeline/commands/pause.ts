import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';

export const pauseCommand: Command = {
  name: 'pause',
  help: `Usage: mngd-release pause <version> [--releases DIR] [--json]

Sets rollout_percent: 0 in releases/<version>.yaml, in place (comments and layout stay). A
paused release stays listed in the manifests but no further device is offered it; devices that
installed it keep it. "mngd-release rollout <version> <percent>" resumes it. Nothing is written
when the result would not validate (a paused release cannot carry the floor of its channel:
halt or yank it instead, which removes its floor too). Prints the branch, commit and pull
request commands to run.

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
        edit: { kind: 'pause' },
        branch: `pause-${version}`,
        title: `Pause ${version}`,
        body: `Sets rollout_percent: 0 in releases/${version}.yaml: no further device is offered ${version}.`,
        effect: `Once published, no further device is offered ${version}.`,
      },
      args,
      ctx,
    );
  },
};
