import { UsageError } from '../../schema/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, str, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';
import { isoSeconds } from '../manifests/index.js';

export const haltCommand: Command = {
  name: 'halt',
  help: `Usage: mngd-release halt <version> --reason TEXT [--channel NAME] [--releases DIR] [--json]

Adds halted: {reason, at} to releases/<version>.yaml, in place (comments and layout stay): a
halted release is offered to nobody, like a yanked one, and the reason and time stay on record.
The plan calls a halt out as a load event; the table shows the release active = false. Nothing
is written when the result would not validate. Prints the branch (stop-<version>), commit and
pull request commands to run; the release-halt workflow (break-glass) runs this command,
publishes at once and opens its own pull request from halt-<version>, a branch name kept for halts
published live (README "Stopping a bad release").

Flags:
  --reason TEXT    why it is halted (required; one line the next on-call reads)
  --channel NAME   refuse unless the release is on this channel (guards a mistyped version)
${COMMON_HELP}

${EXIT_HELP}
Here: 1 the edited file would not be valid (nothing written); 2 no such version (the closest
known one is suggested), no --reason, or another channel than --channel.

Example:
  mngd-release halt 1.0.4 --reason "crashes on launch on macOS 13"`,
  options: { ...COMMON_OPTIONS, reason: { type: 'string' }, channel: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  run(args, ctx) {
    const version = args.positionals[0]!;
    const reason = str(args, 'reason')?.trim();
    if (reason === undefined || reason === '')
      throw new UsageError('--reason TEXT is required: say in one line why the release is halted');
    const at = isoSeconds(ctx.now());
    const channel = str(args, 'channel');
    return runEdit(
      {
        command: 'mngd-release halt',
        version,
        edit: { kind: 'halt', reason, at },
        // Not halt-<version>: that branch is the break-glass workflow's record of a halt published
        // live, and while one is open release-publish refuses to publish main.
        branch: `stop-${version}`,
        title: `Halt ${version}`,
        body: `Halts ${version} (releases/${version}.yaml, halted at ${at}): ${reason}`,
        effect: `Once published, no manifest offers ${version}; devices already on it keep it.`,
        ...(channel === undefined ? {} : { channel }),
      },
      args,
      ctx,
    );
  },
};
