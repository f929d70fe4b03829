/**
 * Where a spec-2 manifest came from (`provenance`): the release repository's commit, the workflow
 * run and the actor under GitHub Actions. Read at the edge; the builder stays pure.
 */
import { git } from '../releases/index.js';
import type { Provenance } from './build2.js';

/** The commit outside any git repository: seven zeros (the schema's shortest commit). */
export const NO_COMMIT = '0000000';

export async function readProvenance(root: string, env: Record<string, string | undefined>): Promise<Provenance> {
  let commit = env['GITHUB_SHA'] ?? '';
  if (!/^[0-9a-f]{7,64}$/.test(commit)) {
    const head = await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD']);
    commit = head.ok ? head.stdout.trim() : '';
  }
  const server = env['GITHUB_SERVER_URL'];
  const repo = env['GITHUB_REPOSITORY'];
  const run = env['GITHUB_RUN_ID'];
  return {
    commit: /^[0-9a-f]{7,64}$/.test(commit) ? commit : NO_COMMIT,
    workflow_run:
      server !== undefined && repo !== undefined && run !== undefined && server.startsWith('https://')
        ? `${server}/${repo}/actions/runs/${run}`
        : null,
    actor: env['GITHUB_ACTOR']?.slice(0, 256) ?? null,
  };
}
