/** `mngd-release <command> [flags]`: its commands and help on the bins' shared skeleton (schema/bin.ts). */
import { runBin, type Bin } from '../../schema/bin.js';
import { PACKAGE_VERSION } from '../../schema/package-version.js';
import { alignFlags, type CommandContext, type ExitCode } from './command.js';
import { commands } from '../commands/index.js';

const TOP_HELP = () => `mngd-release: the release control plane for the mngd agent's self-update

Usage: mngd-release <command> [flags]      mngd-release <command> --help      mngd-release --version

Commands:
${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}

Exit status: 0 done; 1 the releases are invalid or a check failed (fix the pull request);
2 the command was called wrongly or a setting is wrong (change it); 3 an outside system failed (retry the job).
`;

const RELEASE_BIN: Bin<CommandContext> = {
  name: 'mngd-release',
  help: TOP_HELP,
  commands: commands.map((entry) => ({
    name: entry.name,
    load: async () => {
      const command = await entry.load();
      return { ...command, help: alignFlags(command.help) };
    },
  })),
  outsideHint: 'This is an outside failure: re-run the job once the system is back.',
  version: () => PACKAGE_VERSION,
};

export async function runCli(argv: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  return (await runBin(RELEASE_BIN, argv, ctx)) as ExitCode;
}
