/** `--changed-since REF`: the release files that differ from a git ref (a pull request's base). */
import { relative } from 'node:path';
import { ExternalError } from '../../schema/errors.js';
import { git, resolveRef } from '../releases/index.js';

/**
 * Paths (relative to `root`, with "/") of files under `releasesDir` that differ between `ref` and
 * the working tree, plus new files git does not track yet (a release being written locally).
 */
export async function changedFiles(root: string, releasesDir: string, ref: string): Promise<string[]> {
  const commit = await resolveRef(root, ref);
  const dir = relative(root, releasesDir) || '.';
  const diff = await git(root, ['diff', '--name-only', '--relative', '-z', commit, '--', dir]);
  const untracked = await git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', dir]);
  for (const r of [diff, untracked]) {
    if (!r.ok) throw new ExternalError('GIT_FAILED', `git could not list the changed files: ${r.stderr.trim()}`);
  }
  const files = `${diff.stdout}${untracked.stdout}`.split('\0').filter((f) => f !== '');
  return [...new Set(files.map((f) => f.replace(/\\/g, '/')))].sort();
}
