/** A pull request as GitHub presents it to release-pr.yml, and checks shared by the tests that run that job. */
import assert from 'node:assert/strict';
import { workflowFile } from './workflows.js';
import { makeRunner, pipelineResults, runJob, type JobStep, type StepResult } from './run-step.js';
import type { ReleaseRepo } from './release-repo.js';

const MiB = 1024 * 1024;
const WORKFLOW = 'release-pr.yml';

export function pullRequestEvent(repo: ReleaseRepo, base: string, head: string, merge: string, number: number) {
  const repository = {
    id: 1,
    name: 'agent-releases',
    full_name: 'mngd/agent-releases',
    private: true,
    default_branch: 'main',
    owner: { login: 'mngd', type: 'Organization' },
  };
  const headRef = `release-pr-${number}`;
  return {
    event: {
      action: 'synchronize',
      number,
      pull_request: {
        number,
        state: 'open',
        title: 'Release 1.1.0',
        user: { login: 'release-engineer' },
        draft: false,
        merge_commit_sha: merge,
        head: { ref: headRef, sha: head, repo: repository, label: `mngd:${headRef}` },
        base: { ref: 'main', sha: base, repo: repository, label: 'mngd:main' },
        changed_files: repo.git('diff', '--name-only', base, head).split('\n').filter(Boolean).length,
      },
      before: base,
      after: head,
      repository,
      sender: { login: 'release-engineer' },
    },
    github: {
      sha: merge,
      ref: `refs/pull/${number}/merge`,
      base_ref: 'main',
      head_ref: headRef,
      repository: repository.full_name,
    },
  };
}

/** Commits `change` on a branch off main and checks out the merge commit, as actions/checkout does for pull_request. */
export function openPullRequest(repo: ReleaseRepo, base: string, change: () => void): { head: string; merge: string } {
  repo.git('checkout', '-q', '-b', `pr-${base.slice(0, 8)}`);
  change();
  const head = repo.commit('The pull request');
  repo.git('checkout', '-q', '--detach', 'main');
  repo.git(
    '-c',
    'user.name=GitHub',
    '-c',
    'user.email=noreply@github.com',
    'merge',
    '-q',
    '--no-ff',
    '-m',
    `Merge ${head} into ${base}`,
    head,
  );
  return { head, merge: repo.git('rev-parse', 'HEAD') };
}

export async function runPullRequest(
  repo: ReleaseRepo,
  base: string,
  change: () => void,
  number: number,
  extra: { env?: Record<string, string>; secrets?: Record<string, string> } = {},
): Promise<JobStep[]> {
  const { head, merge } = openPullRequest(repo, base, change);
  const pr = pullRequestEvent(repo, base, head, merge, number);
  const runner = makeRunner({ event: pr.event, eventName: 'pull_request', github: pr.github, ...extra });
  return runJob(workflowFile(WORKFLOW), 'release-pr', repo.dir, runner);
}

export const describeResult = (r: StepResult) =>
  `step "${r.step.step.name}" exited ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`;

export function ranCommand(steps: readonly JobStep[], command: string): StepResult {
  const r = pipelineResults(steps).find((x) => x.step.commands.includes(command));
  assert.ok(
    r,
    `no step ran "mngd-release ${command}"; steps: ${steps.map((s) => `${s.step.name} (${s.how})`).join(', ')}`,
  );
  return r;
}

export function assertCalledCorrectly(steps: readonly JobStep[]): void {
  for (const r of pipelineResults(steps)) {
    // 2 = called wrongly (an unknown command or flag), 127 = no such program.
    assert.ok(r.code !== 2 && r.code !== 127, describeResult(r));
    assert.doesNotMatch(r.stderr, /unknown command|--help" for usage/, describeResult(r));
  }
}

export function assertSummaries(steps: readonly JobStep[]): void {
  for (const r of pipelineResults(steps)) {
    assert.ok(r.summaryBytes > 0, `no job summary from ${describeResult(r)}`);
    assert.ok(r.summaryBytes < MiB, `${r.step.step.name}: ${r.summaryBytes} bytes`);
  }
}
