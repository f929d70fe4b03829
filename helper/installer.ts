/**
 * Runs the installer: an argument list through spawn, never a shell (a path or version can never
 * become a command), in its own process group so a time-out kills everything it started.
 */
import { spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { SettingsError } from '../schema/errors.js';
import { OUTPUT_TAIL_BYTES } from './protocol.js';
import { TailBuffer } from './tail.js';

export interface InstallerResult {
  /** the exit code, or null when it was ended by a signal */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** the end of stdout and stderr together, bounded */
  outputTail: string;
  /** set when the program could not be started at all */
  spawnError?: string;
}

/** `onStart` is told the installer's pid (its process group) as soon as it runs. */
export type InstallerRunner = (
  command: string,
  args: readonly string[],
  timeoutMs: number,
  onStart?: (pid: number) => void,
) => Promise<InstallerResult>;

/** After SIGTERM, how long the installer's group gets before SIGKILL. */
const KILL_GRACE_MS = 3000;
/** After the installer exits, how long a leftover holder of its output pipes may keep them open. */
const PIPE_GRACE_MS = 2000;

export const runInstaller: InstallerRunner = (command, args, timeoutMs, onStart) =>
  new Promise((resolve) => {
    const tail = new TailBuffer(OUTPUT_TAIL_BYTES);
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(command, [...args], {
      shell: false,
      detached: true, // its own process group, so the whole group can be killed
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const finish = (spawnError?: string): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      child.stdout?.destroy();
      child.stderr?.destroy();
      const result: InstallerResult = {
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        outputTail: tail.text(),
      };
      if (spawnError !== undefined) result.spawnError = spawnError;
      resolve(result);
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    if (child.pid !== undefined) onStart?.(child.pid);
    child.stdout?.on('data', (c: Buffer) => tail.push(c));
    child.stderr?.on('data', (c: Buffer) => tail.push(c));
    child.on('error', (err) => finish(err.message));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A grandchild may hold the pipes open forever; the installer itself is what we wait for.
      timers.push(setTimeout(() => finish(), PIPE_GRACE_MS));
      if (timedOut) killGroup('SIGKILL');
    });
    child.on('close', () => finish());
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
      }, timeoutMs),
    );
  });

/** Replaces `{pkg}` in the configured argument list with the staged package's path. */
export function installerArgs(template: readonly string[], stagedPath: string): string[] {
  return template.map((a) => a.split('{pkg}').join(stagedPath));
}

export const DEFAULT_INSTALLER = '/usr/sbin/installer';
export const DEFAULT_INSTALLER_ARGS: readonly string[] = ['-pkg', '{pkg}', '-target', '/'];

/**
 * Refuses, at start, an installer the helper could not run: missing, not a file, or not
 * executable. Without this a misconfigured helper would listen and fail every install, and each
 * failure would look like the package's fault. Throws SettingsError (exit 2).
 */
export async function checkInstaller(path: string): Promise<void> {
  let why: string | null = null;
  try {
    await access(path, constants.X_OK);
    if (!(await stat(path)).isFile()) why = 'is not a file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `does not exist (${code})`
        : code === 'EACCES'
          ? 'is not executable (EACCES)'
          : `cannot be run (${code ?? (err as Error).message})`;
  }
  if (why !== null)
    throw new SettingsError(
      `--installer ${path} ${why}; pass the absolute path of an executable installer (default ${DEFAULT_INSTALLER})`,
    );
}
