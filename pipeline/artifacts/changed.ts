/** `--changed-since REF`: the release files that differ from a git ref (a pull request's base). */
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { ExternalError, SettingsError } from '../../schema/errors.js';

function git(cwd: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string; missing?: boolean }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: err === null, stdout, stderr, missing });
    });
  });
}

/**
 * Paths (relative to `root`, with "/") of files under `releasesDir` that differ between `ref` and
 * the working tree, plus new files git does not track yet (a release being written locally).
 */
export async function changedFiles(root: string, releasesDir: string, ref: string): Promise<string[]> {
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
  const dir = relative(root, releasesDir) || '.';
  const diff = await git(root, ['diff', '--name-only', '--relative', '-z', verify.stdout.trim(), '--', dir]);
  const untracked = await git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', dir]);
  for (const r of [diff, untracked]) {
    if (!r.ok) throw new ExternalError('GIT_FAILED', `git could not list the changed files: ${r.stderr.trim()}`);
  }
  const files = `${diff.stdout}${untracked.stdout}`.split('\0').filter((f) => f !== '');
  return [...new Set(files.map((f) => f.replace(/\\/g, '/')))].sort();
}
