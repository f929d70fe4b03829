/** Dispatches `mngd-release <command> [flags]`: parsing, --help, and the mapping of errors to exit codes. */
import { parseArgs } from 'node:util';
import { flagsError } from '../../schema/cli-args.js';
import { MngdError, messageOf } from '../../schema/errors.js';
import { closest } from '../../schema/suggest.js';
import { exitCodeOf } from '../../schema/exit.js';
import { EXIT, alignFlags, type Command, type CommandContext, type ExitCode } from './command.js';
import { commands } from '../commands/index.js';

const TOP_HELP = () => `mngd-release: the release control plane for the mngd agent's self-update

Usage: mngd-release <command> [flags]      mngd-release <command> --help

Commands:
${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}

Exit status: 0 done; 1 the releases are invalid or a check failed (fix the pull request);
2 the command was called wrongly; 3 an outside system failed (retry the job).
`;

export async function runCli(argv: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout).write(TOP_HELP());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    const names = commands.map((c) => c.name);
    const guess = closest(name, names);
    ctx.stderr.write(
      `mngd-release: unknown command "${name}"${guess !== null ? `: did you mean "${guess}"?` : ''} Commands: ${names.join(', ')}.\nRun "mngd-release --help" for more.\n`,
    );
    return EXIT.USAGE;
  }
  const command: Command = await entry.load();
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    ctx.stderr.write(
      `mngd-release ${name}: ${flagsError(err, options)}\nRun "mngd-release ${name} --help" for usage.\n`,
    );
    return EXIT.USAGE;
  }
  if (parsed.values['help'] === true) {
    const help = alignFlags(command.help);
    ctx.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return EXIT.OK;
  }
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    ctx.stderr.write(
      `mngd-release ${name}: expected ${expected} argument(s), got ${parsed.positionals.length}${parsed.positionals.length ? ` (${parsed.positionals.join(' ')})` : ''}\nRun "mngd-release ${name} --help" for usage.\n`,
    );
    return EXIT.USAGE;
  }
  try {
    return await command.run(parsed, ctx);
  } catch (err) {
    const code = exitCodeOf(err);
    const tag = err instanceof MngdError ? ` [${err.code}]` : '';
    ctx.stderr.write(`mngd-release ${name}: ${messageOf(err)}${tag}\n`);
    // A setting outside the command line (DB_SETTINGS, STORE_NO_CREDENTIALS) is not helped by --help.
    if (code === EXIT.USAGE && (err as MngdError).code === 'USAGE')
      ctx.stderr.write(`Run "mngd-release ${name} --help" for usage.\n`);
    if (code === EXIT.EXTERNAL)
      ctx.stderr.write('This is an outside failure: re-run the job once the system is back.\n');
    return code;
  }
}
