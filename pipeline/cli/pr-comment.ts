/**
 * The plan as one sticky comment on the release pull request (the Atlantis convention: reviewers
 * read the conversation, rarely the job summary), updated in place on every run: found by a
 * hidden marker, edited when there, created once when not, never a second one. Load events come
 * first. Through @octokit/rest (imported on first use), against GITHUB_API_URL (GitHub
 * Enterprise, or a stand-in in tests).
 *
 * A pull request from a fork gets a read-only token (GitHub's rule): the comment is not tried,
 * and the job summary says the plan is there only. A 403 on a same-repository pull request (the
 * job lacks `pull-requests: write`) falls back the same way; any other failure is a warning: the
 * comment is a courtesy, never a reason to fail the release check.
 */
import { readFileSync } from 'node:fs';
import { messageOf } from '../../schema/errors.js';
import type { PlanWarning } from '../table/index.js';
import { appendSummary, fitSummary } from './github.js';

export const STICKY_MARKER = '<!-- mngd-release plan (sticky: updated in place by the release-pr check) -->';
/** GitHub refuses a comment body over 65,536 characters. */
const COMMENT_LIMIT = 60_000;

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  /** the pull request's head is another repository (a fork) */
  fork: boolean;
  headSha: string;
}

/** The pull request this run is for, from GITHUB_EVENT_PATH; null when the event is not a pull request. */
export function pullRequestOf(env: Record<string, string | undefined>): PullRequestRef | null {
  const path = env['GITHUB_EVENT_PATH'];
  if (!path) return null;
  let event: {
    pull_request?: {
      number?: number;
      head?: { sha?: string; repo?: { full_name?: string } | null };
      base?: { repo?: { full_name?: string } };
    };
  };
  try {
    event = JSON.parse(readFileSync(path, 'utf8')) as typeof event;
  } catch {
    return null;
  }
  const pr = event.pull_request;
  const base = pr?.base?.repo?.full_name ?? env['GITHUB_REPOSITORY'];
  if (pr?.number === undefined || base === undefined || !base.includes('/')) return null;
  const [owner, repo] = base.split('/') as [string, string];
  const head = pr.head?.repo?.full_name;
  return { owner, repo, number: pr.number, fork: head !== undefined && head !== base, headSha: pr.head?.sha ?? '' };
}

/** The comment: the marker, the load events first, then the plan's Markdown. */
export function commentBody(planMarkdown: string, warnings: readonly PlanWarning[], headSha: string): string {
  const head = [STICKY_MARKER, '## Release plan', ''];
  if (warnings.length > 0) {
    head.push(`### ⚠️ Load events (${warnings.length})`, '');
    for (const w of warnings) head.push(`- **${w.code}**: ${w.message}`);
    head.push('');
  } else head.push('No load event.', '');
  const foot = `\n---\nUpdated for ${headSha === '' ? 'this pull request' : headSha.slice(0, 12)} by the release-pr check; this comment is edited in place on every run.\n`;
  return fitSummary(`${head.join('\n')}\n${planMarkdown}`, COMMENT_LIMIT - foot.length) + foot;
}

export type CommentOutcome =
  | { kind: 'created' | 'updated'; id: number; url: string }
  /** fallback: the job summary is where reviewers must look (a fork, a refusal): the summary says so */
  | { kind: 'skipped'; why: string; fallback?: boolean };

interface Comment {
  id: number;
  body?: string | undefined;
  html_url: string;
}

/** Creates the sticky comment, or edits the one carrying the marker. */
export async function upsertComment(
  pr: PullRequestRef,
  body: string,
  opts: { token: string; baseUrl: string },
): Promise<CommentOutcome> {
  if (pr.fork)
    return {
      kind: 'skipped',
      why: 'this pull request comes from a fork, whose token may not comment: the plan is in this job summary only',
      fallback: true,
    };
  const { Octokit } = await import('@octokit/rest');
  const octokit = new Octokit({ auth: opts.token, baseUrl: opts.baseUrl, userAgent: 'mngd-release' });
  const where = { owner: pr.owner, repo: pr.repo };
  try {
    const comments: Comment[] = await octokit.paginate(octokit.rest.issues.listComments, {
      ...where,
      issue_number: pr.number,
      per_page: 100,
    });
    const mine = comments.find((c) => c.body?.includes(STICKY_MARKER) === true);
    if (mine !== undefined) {
      const { data } = await octokit.rest.issues.updateComment({ ...where, comment_id: mine.id, body });
      return { kind: 'updated', id: data.id, url: data.html_url };
    }
    const { data } = await octokit.rest.issues.createComment({ ...where, issue_number: pr.number, body });
    return { kind: 'created', id: data.id, url: data.html_url };
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (status === 403 || status === 401)
      return {
        kind: 'skipped',
        why: `GitHub refused the comment (HTTP ${String(status)}: the job needs "pull-requests: write"): the plan is in this job summary only`,
        fallback: true,
      };
    return {
      kind: 'skipped',
      why: `could not write the plan comment (${messageOf(err)}): the plan is in this job summary`,
      fallback: true,
    };
  }
}

/** Posts (or updates) the comment for this run's pull request and says what happened, in the log and the summary. */
export async function commentPlan(
  env: Record<string, string | undefined>,
  say: (line: string) => void,
  planMarkdown: string,
  warnings: readonly PlanWarning[],
): Promise<CommentOutcome> {
  const pr = pullRequestOf(env);
  const token = env['GITHUB_TOKEN'] ?? '';
  let outcome: CommentOutcome;
  if (pr === null) outcome = { kind: 'skipped', why: 'this run is not for a pull request: no plan comment' };
  else if (token === '' && !pr.fork)
    outcome = { kind: 'skipped', why: 'no GITHUB_TOKEN in the environment: the plan is in this job summary only' };
  else
    outcome = await upsertComment(pr, commentBody(planMarkdown, warnings, pr.headSha), {
      token,
      baseUrl: env['GITHUB_API_URL'] || 'https://api.github.com',
    });
  const line =
    outcome.kind === 'skipped'
      ? `Plan comment: not written: ${outcome.why}.`
      : `Plan comment ${outcome.kind} on the pull request: ${outcome.url}`;
  say(line);
  if (outcome.kind === 'skipped' && outcome.fallback === true) await appendSummary(`\n${line}\n`);
  return outcome;
}
