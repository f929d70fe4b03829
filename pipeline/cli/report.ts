/** Printing problems the three ways a user meets them: terminal text, --json, and GitHub annotations + summary. */
import type { CommandContext } from './command.js';
import { annotate, appendSummary, onGitHub } from './github.js';
import { problemsMarkdown } from '../releases/index.js';
import { formatProblem, type Problem } from '../releases/index.js';

export async function reportProblems(
  ctx: CommandContext,
  title: string,
  problems: readonly Problem[],
  opts: { json: boolean },
): Promise<void> {
  if (!opts.json) for (const p of problems) ctx.stderr.write(`${formatProblem(p)}\n`);
  if (onGitHub(ctx.env)) {
    await annotate(problems);
    const errors = problems.filter((p) => p.severity === 'error').length;
    await appendSummary(
      `## ${title}\n\n${problems.length === 0 ? '✅ No problems.\n' : `${errors} error(s), ${problems.length - errors} warning(s):\n\n${problemsMarkdown(problems)}`}\n`,
    );
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
