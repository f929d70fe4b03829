/**
 * The skeleton the three bins (mngd-release, mngd-agent, mngd-helper) share: `<bin> <command>
 * [flags]`, --help, "did you mean" for a misspelled command or flag, and the exit policy of
 * schema/exit.ts with one stderr line per error. Each bin brings its commands and help texts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { flagsError } from './cli-args.js';
import { ExternalError, MngdError, messageOf } from './errors.js';
import { EXIT, exitCodeOf, wantsHelpHint } from './exit.js';
import { closest } from './suggest.js';

export interface BinIo {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
}

export type BinOptions = NonNullable<ParseArgsConfig['options']>;

export interface BinArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export interface BinCommand<C extends BinIo> {
  /** the full `--help` text of the command */
  help: string;
  options: BinOptions;
  /** how many positional arguments it takes (default: none) */
  positionals?: { min: number; max: number };
  /** returns the exit code; a thrown error is mapped by schema/exit.ts */
  run(args: BinArgs, ctx: C): Promise<number>;
}

export interface BinCommandEntry<C extends BinIo> {
  name: string;
  /** loaded only when it runs, so a command need not load what another one uses */
  load(): BinCommand<C> | Promise<BinCommand<C>>;
}

export interface Bin<C extends BinIo> {
  /** the program's name, which starts every line it writes to stderr */
  name: string;
  /** the help without a command: usage, the commands, the exit codes */
  help: () => string;
  commands: readonly BinCommandEntry<C>[];
  /** a second line after an outside failure (exit 3), e.g. that a re-run will do */
  outsideHint?: string;
  /** what `--version` prints after the name (this package's version) */
  version?: () => string;
}

const endLine = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** Runs one command line; never throws, returns the exit code. */
export async function runBin<C extends BinIo>(bin: Bin<C>, argv: readonly string[], ctx: C): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout).write(endLine(bin.help()));
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if ((name === '--version' || name === '-V') && bin.version !== undefined) {
    ctx.stdout.write(`${bin.name} ${bin.version()}\n`);
    return EXIT.OK;
  }
  const entry = bin.commands.find((c) => c.name === name);
  if (entry === undefined) {
    const names = bin.commands.map((c) => c.name);
    const guess = closest(name, names);
    ctx.stderr.write(
      `${bin.name}: unknown command "${name}"${guess !== null ? `: did you mean "${guess}"?` : ''} Commands: ${names.join(', ')}.\nRun "${bin.name} --help" for usage.\n`,
    );
    return EXIT.USAGE;
  }
  const where = `${bin.name} ${name}`;
  const usage = (message: string): number => {
    ctx.stderr.write(`${where}: ${message}\nRun "${where} --help" for usage.\n`);
    return EXIT.USAGE;
  };
  const command = await entry.load();
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as const;
  let parsed: BinArgs;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    return usage(flagsError(err, options));
  }
  if (parsed.values['help'] === true) {
    ctx.stdout.write(endLine(command.help));
    return EXIT.OK;
  }
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  const got = parsed.positionals;
  if (got.length < min || got.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    return usage(`expected ${expected} argument(s), got ${got.length}${got.length ? ` (${got.join(' ')})` : ''}`);
  }
  try {
    return await command.run(parsed, ctx);
  } catch (err) {
    return reportError(bin, where, err, ctx);
  }
}

/** The one line a thrown error becomes (with its code), a hint where one helps, and the exit code. */
export function reportError(bin: Pick<Bin<BinIo>, 'outsideHint'>, where: string, err: unknown, io: BinIo): number {
  const code = exitCodeOf(err);
  const tag = err instanceof MngdError ? ` [${err.code}]` : '';
  io.stderr.write(`${where}: ${messageOf(err)}${tag}\n`);
  if (wantsHelpHint(err)) io.stderr.write(`Run "${where} --help" for usage.\n`);
  const namesItsFix = err instanceof ExternalError && err.namesItsFix;
  if (code === EXIT.EXTERNAL && bin.outsideHint !== undefined && !namesItsFix) io.stderr.write(`${bin.outsideHint}\n`);
  return code;
}
