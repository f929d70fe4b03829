import { SettingsError } from '../../schema/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';

export const rolloutCommand: Command = {
  name: 'rollout',
  help: `Usage: mngd-release rollout <version> <percent> [--releases DIR] [--json]

Sets rollout_percent in releases/<version>.yaml to <percent> (0-100), in place (comments and
layout stay). Raising the share is the usual step (10 -> 50 -> 100); a lower share is allowed
and said so: it is a safety change (offers less), and devices that installed it keep it.
Nothing is written when the result would not validate. Prints the branch, commit and pull
request commands to run.

Flags:
${COMMON_HELP}

${EXIT_HELP}
Here: 1 the edited file would not be valid (nothing written); 2 no such version (the closest
known one is suggested), or <percent> is not a whole number from 0 to 100.

Example:
  mngd-release rollout 1.0.4 50`,
  options: { ...COMMON_OPTIONS },
  positionals: { min: 2, max: 2 },
  run(args, ctx) {
    const [version, text] = args.positionals as [string, string];
    const raw = text.replace(/%$/, '');
    if (!/^\d{1,3}$/.test(raw) || Number(raw) > 100)
      throw new SettingsError(`<percent> "${text}" is not valid; expected a whole number from 0 to 100, e.g. 50`);
    const percent = Number(raw);
    return runEdit(
      {
        command: 'mngd-release rollout',
        version,
        edit: { kind: 'rollout', percent },
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
