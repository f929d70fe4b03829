/**
 * release-pr.yml, run as GitHub runs it (see pipeline-steps.test.ts), on a valid pull request:
 * every check passes, and without a read-only database the plan is made against main's
 * releases loaded into an embedded table, so only what the pull request adds is new.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { pipelineResults, type JobStep } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';
import { assertCalledCorrectly, assertSummaries, describeResult, ranCommand, runPullRequest } from './pull-request.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('release-pr.yml on a valid pull request', () => {
  let srv: TestServer;
  let repo: ReleaseRepo;
  let steps: JobStep[];
  const pkg100 = generatedBytes(1, 4096);
  const pkg110 = generatedBytes(2, 9000);

  before(async () => {
    srv = await startHttpsServer(
      routes({ '/agent/1.0.0.pkg': servePackage(pkg100), '/agent/1.1.0.pkg': servePackage(pkg110) }),
    );
    repo = releaseRepo();
    // Production's target: the pull request has no AWS credentials to read it with.
    repo.write(
      'releases/policy.yaml',
      policyYaml({
        prefix: srv.url('/agent/'),
        keys: [generateSigningKey()],
        target: 's3://mngd-agent-releases/agent',
        region: 'us-east-1',
      }),
    );
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({ version: '1.0.0', url: srv.url('/agent/1.0.0.pkg'), sha256: sha256(pkg100), size: pkg100.length }),
    );
    const base = repo.commit('Release 1.0.0');
    steps = await runPullRequest(
      repo,
      base,
      () =>
        repo.write(
          'releases/1.1.0.yaml',
          releaseYaml({
            version: '1.1.0',
            url: srv.url('/agent/1.1.0.pkg'),
            sha256: sha256(pkg110),
            size: pkg110.length,
            extra: ['rollout_percent: 10'],
          }),
        ),
      45,
      { env: { NODE_EXTRA_CA_CERTS: testTls().caFile } },
    );
  });
  after(() => srv.close());

  it('passes every check and calls every command with flags it accepts', () => {
    assertCalledCorrectly(steps);
    for (const r of pipelineResults(steps)) assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(
      pipelineResults(steps).map((r) => r.step.commands.at(-1)),
      ['validate', 'verify-artifacts', 'plan'],
    );
  });

  it("plans against main's releases when no read-only database is configured: only the new release is an insert", () => {
    const r = ranCommand(steps, 'plan');
    assert.match(r.summary, /base commit [0-9a-f]{40}/);
    assert.match(r.summary, /1\.1\.0/);
    // The heading names the base commit, never the runner's scratch folder of the table; the plan
    // ends with what merging does, not with a sync nobody runs in a pull request.
    assert.match(r.summary, /### Plan for `agent_releases` \(main's releases at the base commit [0-9a-f]{12}\)/);
    assert.doesNotMatch(r.summary, /PGlite at|Run "mngd-release sync"/);
    assert.match(r.summary, /\nMerging applies it: the release workflow runs "mngd-release apply" on main\.\n\n$/);
    const inserts = r.summary.split('\n').filter((l) => /insert/i.test(l) && /1\.0\.0/.test(l));
    assert.deepEqual(inserts, [], `1.0.0 is already on main and must not be planned as new:\n${r.summary}`);
    // Nothing of the seeding leaked into the pull request's annotations.
    assert.deepEqual(
      r.annotations.filter((a) => a.level === 'error'),
      [],
    );
    assert.ok(existsSync(join(repo.dir, '.state', 'pglite')), "the embedded table lives in the runner's checkout");
  });

  it("plans the table only, without touching production's publish target (the pull request has no AWS credentials)", () => {
    const r = ranCommand(steps, 'plan');
    assert.equal(r.code, 0, describeResult(r));
    assert.doesNotMatch(`${r.summary}${r.stdout}${r.stderr}`, /s3:\/\/mngd-agent-releases|Credentials/);
  });

  it("writes every step's summary under the 1 MiB limit", () => assertSummaries(steps));
});
