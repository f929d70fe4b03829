/** Runs `mngd-release` in-process with captured output, or as a real child process. */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../pipeline/cli/dispatch.js';
import type { CommandContext } from '../../pipeline/cli/command.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The repository root (dist/test/support -> ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const RELEASE_BIN = join(REPO_ROOT, 'dist', 'pipeline', 'cli.js');

export async function runRelease(
  argv: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; now?: Date },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const ctx: CommandContext = {
    cwd: opts.cwd,
    env: opts.env ?? {},
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    isTTY: false,
    now: () => opts.now ?? new Date(),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

/** Runs a compiled bin (default mngd-release) as a child process, `nodeArgs` before it, and collects its output. */
export function runBin(
  argv: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; bin?: string; nodeArgs?: string[] },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.bin ?? RELEASE_BIN, ...argv], {
      cwd: opts.cwd,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A temporary repository with `releases/` copied from a fixture folder (default: the valid base). */
export function tempRepo(from = join(FIXTURES, 'base')): { root: string; releases: string } {
  const root = mkdtempSync(join(tmpdir(), 'mngd-repo-'));
  const releases = join(root, 'releases');
  cpSync(from, releases, { recursive: true });
  return { root, releases };
}
