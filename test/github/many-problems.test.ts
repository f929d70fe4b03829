/**
 * release-pr.yml, run as GitHub runs it (see pipeline-steps.test.ts), on a pull request with ten
 * thousand problems: every one is annotated on its line, and no step's job summary reaches
 * GitHub's 1 MiB limit.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../schema/keys.js';
import type { JobStep } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml } from './release-repo.js';
import { assertCalledCorrectly, assertSummaries, ranCommand, runPullRequest } from './pull-request.js';

describe('release-pr.yml with thousands of problems', () => {
  let steps: JobStep[];
  const FILES = 2500;

  before(async () => {
    const repo = releaseRepo();
    repo.write(
      'releases/policy.yaml',
      policyYaml({ prefix: 'https://cdn.example.com/agent/', keys: [generateSigningKey()] }),
    );
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({
        version: '1.0.0',
        url: 'https://cdn.example.com/agent/1.0.0.pkg',
        sha256: 'a'.repeat(64),
        size: 10,
      }),
    );
    const base = repo.commit('Release 1.0.0');
    steps = await runPullRequest(
      repo,
      base,
      () => {
        for (let i = 0; i < FILES; i++) {
          // Four problems each: an http URL outside the allowed prefixes, a bad hash, a bad size, a bad share.
          repo.write(
            `releases/2.0.${i}.yaml`,
            releaseYaml({
              version: `2.0.${i}`,
              url: `http://downloads.example.org/some/long/path/agent-2.0.${i}.pkg`,
              sha256: 'XYZ',
              size: -1,
              extra: ['rollout_percent: 150'],
            }),
          );
        }
      },
      43,
    );
  });

  it("keeps every step summary under GitHub's 1 MiB limit, saying where it was cut", () => {
    assertCalledCorrectly(steps);
    assertSummaries(steps);
    const validate = ranCommand(steps, 'validate');
    assert.equal(validate.code, 1);
    assert.match(validate.summary, /cut/);
  });

  it('annotates every problem on its file and line', () => {
    const errors = ranCommand(steps, 'validate').annotations.filter((a) => a.level === 'error');
    assert.ok(errors.length >= FILES * 4, `${errors.length} error annotations for ${FILES} files with 4 problems each`);
    for (const a of errors) {
      assert.match(a.props['file'] ?? '', /^releases\/2\.0\.\d+\.yaml$/);
      assert.match(a.props['line'] ?? '', /^[1-5]$/);
    }
  });
});
