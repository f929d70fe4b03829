/**
 * GitHub Actions output: annotations on the YAML lines and the job summary, through
 * @actions/core. Only used when GITHUB_ACTIONS=true, so the library (about 18 MiB once loaded) is
 * imported on first use: a run on a laptop never pays for it.
 */
import type { AnnotationProperties } from '@actions/core';
import { messageOf } from '../../schema/errors.js';
import type { Problem } from '../releases/index.js';

type Core = typeof import('@actions/core');
let core: Promise<Core> | null = null;
const actionsCore = (): Promise<Core> => (core ??= import('@actions/core'));

/** Masks a secret in the GitHub Actions log (core.setSecret). */
export async function maskSecret(secret: string): Promise<void> {
  (await actionsCore()).setSecret(secret);
}

/** GitHub refuses a step summary above 1 MiB; stay well below it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 64 * 1024;

export function onGitHub(env: Record<string, string | undefined>): boolean {
  return env['GITHUB_ACTIONS'] === 'true';
}

/** One annotation per problem (GitHub shows the first few per step; the summary lists them all). */
export async function annotate(problems: readonly Problem[]): Promise<void> {
  if (problems.length === 0) return;
  const c = await actionsCore();
  for (const p of problems) {
    // A problem of no file (a load event about a channel) is annotated on the run, not a line.
    const props: AnnotationProperties = p.file === '' ? { title: p.code } : { file: p.file, title: p.code };
    if (p.line !== undefined) {
      props.startLine = p.line;
      props.startColumn = p.column ?? 1;
    }
    if (p.severity === 'error') c.error(p.message, props);
    else c.warning(p.message, props);
  }
}

/** Cuts Markdown to the summary limit on a line boundary, saying so. */
export function fitSummary(markdown: string, limit = SUMMARY_LIMIT_BYTES): string {
  if (Buffer.byteLength(markdown) <= limit) return markdown;
  const note =
    "\n\n… the summary was cut here to stay under GitHub's 1 MiB limit; run the command with --json for the full output.\n";
  let cut = Buffer.from(markdown)
    .subarray(0, limit - Buffer.byteLength(note))
    .toString('utf8');
  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
  return cut + note;
}

/** Appends Markdown to the job summary (GITHUB_STEP_SUMMARY), if there is one. */
export async function appendSummary(markdown: string): Promise<void> {
  const file = process.env['GITHUB_STEP_SUMMARY'];
  if (!file) return;
  try {
    await (await actionsCore()).summary.addRaw(fitSummary(markdown), true).write();
  } catch (err) {
    // The summary is a courtesy: a runner that cannot take it must not change the command's result.
    process.stderr.write(
      `warning: could not write the job summary to ${file}: ${messageOf(err)}; the result above stands\n`,
    );
  }
}

/** Sets a step output (GITHUB_OUTPUT) for the workflow's later steps and jobs. */
export async function setOutput(name: string, value: string): Promise<void> {
  (await actionsCore()).setOutput(name, value);
}
