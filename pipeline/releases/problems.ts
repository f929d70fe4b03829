/**
 * A problem found in the releases: where it is, what is wrong, what was expected and the fix.
 * Validation collects every problem rather than stopping at the first.
 */
import type { ProblemCode } from '../../schema/codes/index.js';

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** stable machine code, e.g. RELEASE_UNKNOWN_KEY (schema/codes/); tests assert this, not the words */
  code: ProblemCode;
  /** path relative to the repository (e.g. releases/1.0.3.yaml) */
  file: string;
  /** 1-based; absent when the problem has no place inside the file */
  line?: number;
  column?: number;
  /** one sentence: what is wrong, what was expected, and how to fix it */
  message: string;
}

/**
 * One problem, one line. A message quotes what a pull request wrote (a key may hold a line break);
 * a raw line break would let it start a line of its own, which CI logs read as a command
 * ("::error ...", "::add-mask::...").
 */
export function formatProblem(p: Problem): string {
  const at = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return oneLine(`${at}: ${p.severity} ${p.code}: ${p.message}`);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

export const hasErrors = (problems: readonly Problem[]): boolean => problems.some((p) => p.severity === 'error');

/** Markdown table of problems for the summary. */
export function problemsMarkdown(problems: readonly Problem[]): string {
  if (problems.length === 0) return '';
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = problems.map(
    (p) =>
      `| ${p.severity === 'error' ? '❌' : '⚠️'} | \`${esc(p.file)}${p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : ''}\` | \`${p.code}\` | ${esc(p.message)} |`,
  );
  return ['| | where | code | problem |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
