/** The shape of a `mngd-release` command and the context it runs in (injected, so tests run it in-process). */
import { access, constants } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { SettingsError } from '../../schema/errors.js';

export { EXIT, type ExitCode } from '../../schema/exit.js';
import type { ExitCode } from '../../schema/exit.js';

export interface Output {
  write(text: string): void;
}

export interface CommandContext {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  /** stdout is a terminal (progress bars, colours) */
  isTTY: boolean;
  now: () => Date;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** the full `--help` text: usage line, what it does, every flag, exit codes, an example */
  help: string;
  options: Options;
  /** allow positionals (default: none) */
  positionals?: { min: number; max: number };
  run(args: Parsed, ctx: CommandContext): Promise<ExitCode>;
}

export function defaultContext(): CommandContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    isTTY: process.stdout.isTTY === true,
    now: () => new Date(),
  };
}

/** Flags most commands share. */
export const COMMON_OPTIONS = {
  releases: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Options;

export const COMMON_HELP = `  --releases DIR   the releases directory (default: ./releases)
  --json           print machine-readable JSON on stdout
  -h, --help       show this help`;

export const EXIT_HELP = `Exit status: 0 done; 1 the releases are invalid or a check failed; 2 called wrongly or
a setting is wrong (change it); 3 an outside system failed (retry).`;

export function str(args: Parsed, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(args: Parsed, name: string): boolean {
  return args.values[name] === true;
}

/** The absolute path of a CA file flag (--ca-file) that must be readable; exit 2 when it is not. */
export async function readableFile(cwd: string, path: string | undefined, name: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const abs = resolve(cwd, path);
  try {
    await access(abs, constants.R_OK);
  } catch {
    throw new SettingsError(
      `--${name} ${path}: cannot read that file; expected a PEM file of the extra CA certificate(s)`,
    );
  }
  return abs;
}

/**
 * Lines up the descriptions of a help text's flag lines ("  --flag ARG   text") and their
 * continuation lines in one column, whatever widths the shared blocks (COMMON_HELP, TARGET_HELP)
 * and a command's own lines were written with.
 */
export function alignFlags(help: string): string {
  const FLAG = /^ {2}(-\S+(?:,? \S+)*?) {2,}(\S.*)$/;
  const lines = help.split('\n');
  const width = Math.max(0, ...lines.map((l) => FLAG.exec(l)?.[1]?.length ?? 0));
  const column = 2 + width + 2;
  let inFlag = false;
  return lines
    .map((line) => {
      const m = FLAG.exec(line);
      if (m) {
        inFlag = true;
        return `  ${m[1]!.padEnd(width)}  ${m[2]}`;
      }
      // A continuation: indented past the flags, right after a flag line.
      if (inFlag && /^ {6,}\S/.test(line)) return ' '.repeat(column) + line.trimStart();
      inFlag = false;
      return line;
    })
    .join('\n');
}
