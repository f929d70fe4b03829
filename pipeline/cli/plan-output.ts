/** What plan and sync share at the edges: loading releases for them, and printing a plan three ways. */
import { relative } from 'node:path';
import { str, type CommandContext, type Parsed } from './command.js';
import { annotate, appendSummary, onGitHub } from './github.js';
import { loadReleaseSet } from '../releases/index.js';
import { blockingProblems, type Plan } from '../table/index.js';
import { renderPlanMarkdown, renderPlanText } from '../table/index.js';
import { hasErrors } from '../releases/index.js';
import type { ReleaseSet } from '../releases/index.js';
import { plural, reportProblems } from './report.js';

/** The release set, or null after printing its problems: plan and sync never run on invalid releases. */
export async function loadValidSet(
  args: Parsed,
  ctx: CommandContext,
  json: boolean,
  command: string,
): Promise<ReleaseSet | null> {
  const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
  if (!hasErrors(set.problems)) return set;
  await reportProblems(ctx, `mngd-release ${command}`, set.problems, { json });
  const errors = set.problems.filter((p) => p.severity === 'error');
  if (json) ctx.stdout.write(`${JSON.stringify({ ok: false, problems: set.problems }, null, 2)}\n`);
  else
    ctx.stderr.write(
      `\n${plural(errors.length, 'problem')} in the release files: ${command} needs valid releases. Fix them ("mngd-release validate"), then run it again.\n`,
    );
  return null;
}

export function releasesDirOf(set: ReleaseSet): string {
  return relative(set.root, set.dir) || '.';
}

export interface PlanReport {
  plan: Plan;
  /** redacted URL or PGlite folder */
  target: string;
  /** extra fields for --json (sync: wrote, migrated, dry_run) */
  extra?: Record<string, unknown>;
  /** a last line for people */
  footer?: string;
}

export async function emitPlan(ctx: CommandContext, json: boolean, r: PlanReport): Promise<void> {
  const problems = blockingProblems(r.plan);
  if (json) {
    ctx.stdout.write(
      `${JSON.stringify({ ok: problems.length === 0, target: r.target, ...r.extra, plan: r.plan }, null, 2)}\n`,
    );
  } else {
    ctx.stdout.write(renderPlanText(r.plan, { target: r.target }));
    if (r.footer) ctx.stdout.write(`\n${r.footer}\n`);
  }
  if (onGitHub(ctx.env)) {
    await annotate(problems);
    await appendSummary(renderPlanMarkdown(r.plan, { target: r.target }) + (r.footer ? `\n${r.footer}\n` : ''));
  }
}
