import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, type Command } from '../cli/command.js';
import { runEdit } from '../cli/edit-release.js';

export const yankCommand: Command = {
  name: 'yank',
  help: `Usage: mngd-release yank <version> [--releases DIR] [--json]

Sets active: false in releases/<version>.yaml, in place: every comment, blank line and quote in
the file stays as it was. Once merged and published no manifest offers the release and the
table marks it yanked; devices that already installed it keep it (the next release replaces it).
Nothing is written when the result would not validate. Prints the branch, commit and pull
request commands to run. A yank never needs its package: the pull request check skips the
download of a yanked release (the package may already be gone from the CDN).

For a stop that cannot wait for a review, run the release-halt workflow (break-glass) instead.

Flags:
${COMMON_HELP}

${EXIT_HELP}
Here: 1 the edited file would not be valid (nothing written); 2 no such version (the closest
known one is suggested).

Example:
  mngd-release yank 1.0.4
  releases/1.0.4.yaml: active: true -> false. Once published, no manifest offers 1.0.4 ...
    git switch -c yank-1.0.4
    git commit -m 'Yank 1.0.4' -- releases/1.0.4.yaml
    ...`,
  options: { ...COMMON_OPTIONS },
  positionals: { min: 1, max: 1 },
  run(args, ctx) {
    const version = args.positionals[0]!;
    return runEdit(
      {
        command: 'mngd-release yank',
        version,
        edit: { kind: 'yank' },
        branch: `yank-${version}`,
        title: `Yank ${version}`,
        body: `Sets active: false in releases/${version}.yaml: no manifest offers ${version} once this is merged and published.`,
        effect: `Once published, no manifest offers ${version}; devices already on it keep it.`,
      },
      args,
      ctx,
    );
  },
};
