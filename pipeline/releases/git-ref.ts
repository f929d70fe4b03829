/** Git at the edge: run a git command, and resolve a ref a pull request names (its base). */
import { execFile } from 'node:child_process';
import { ExternalError, SettingsError } from '../../schema/errors.js';

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

export function git(cwd: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: err === null, stdout, stderr, missing });
    });
  });
}

/** The commit `ref` names in `root`, for `--changed-since REF`; a clear error when there is none. */
export async function resolveRef(root: string, ref: string): Promise<string> {
  // Threat: a "ref" such as --output=FILE would be read by git as an option and write a file.
  if (ref === '' || ref.startsWith('-')) {
    throw new SettingsError(
      `--changed-since "${ref}" is not a git ref; expected a branch, tag or commit such as origin/main`,
    );
  }
  const verify = await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (verify.missing)
    throw new ExternalError('GIT_UNAVAILABLE', 'git is not installed or not on PATH; --changed-since needs it');
  if (!verify.ok) {
    const why = verify.stderr.trim().split('\n')[0] ?? '';
    throw new SettingsError(
      `--changed-since ${ref}: no such commit in ${root}${why ? ` (${why})` : ''}; pass a branch, tag or commit that exists here (in GitHub Actions fetch it first, e.g. actions/checkout with fetch-depth: 0)`,
    );
  }
  return verify.stdout.trim();
}
