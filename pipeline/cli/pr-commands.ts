/** The git and gh commands that turn an edited release file into a pull request (pure: text out). */

/** Quotes a word for a POSIX shell: a reason may hold spaces, quotes or `$`. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface PullRequest {
  /** the branch to create, e.g. yank-1.0.4 */
  branch: string;
  /** the file to commit, relative to where the commands run */
  file: string;
  title: string;
  body: string;
  /** the branch the pull request goes into */
  base: string;
}

export function pullRequestCommands(pr: PullRequest): string[] {
  const q = shellQuote;
  return [
    `git switch -c ${q(pr.branch)}`,
    `git commit -m ${q(pr.title)} -- ${q(pr.file)}`,
    `git push -u origin ${q(pr.branch)}`,
    `gh pr create --base ${q(pr.base)} --head ${q(pr.branch)} --title ${q(pr.title)} --body ${q(pr.body)}`,
  ];
}
