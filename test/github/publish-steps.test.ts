/**
 * The production workflows' pipeline steps (release-publish.yml on a push to main, then
 * release-refresh.yml) run exactly as written, under GitHub's environment with a realistic push
 * event, the secrets under the names the workflows read, the table on PostgreSQL
 * (TEST_DATABASE_URL) or the embedded PGlite, and the local-directory publish target.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, publicKeyFromBase64 } from '../../schema/keys.js';
import { verifyManifest } from '../../schema/manifest.js';
import { testTls } from '../support/tls.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { openPglite } from '../../pipeline/table/db/pglite.js';
import type { Database } from '../../pipeline/table/db/database.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { workflowFile } from './workflows.js';
import { makeRunner, pipelineResults, runJob, type JobStep, type Runner, type StepResult } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const describeResult = (r: StepResult) =>
  `${r.step.workflow} step "${r.step.step.name}" exited ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`;
function assertNoSecret(results: readonly StepResult[], privateKeyText: string): void {
  const secret = privateKeyText.slice('ed25519:'.length);
  for (const r of results) {
    for (const text of [r.stdout, r.stderr, r.summary, r.output]) {
      const leaks = text.split('\n').filter((l) => l.includes(secret) && !l.startsWith('::add-mask::'));
      assert.deepEqual(leaks, [], `${r.step.step.name} printed a signing key`);
    }
  }
}

let withTableImpl: (<T>(fn: (sql: Database) => Promise<T>) => Promise<T>) | undefined;
/** Runs SQL on the table the workflow steps used: the test's PostgreSQL database, or the embedded PGlite of the checkout. */
const withTable = <T>(fn: (sql: Database) => Promise<T>): Promise<T> => {
  if (!withTableImpl) throw new Error('the table is not set up yet');
  return withTableImpl(fn);
};
const publishJob = (repo: ReleaseRepo, runner: Runner) =>
  runJob(workflowFile('release-publish.yml'), 'apply', repo.dir, runner);
const refreshJob = (repo: ReleaseRepo, runner: Runner) =>
  runJob(workflowFile('release-refresh.yml'), 'refresh', repo.dir, runner);

function pushEvent(repo: ReleaseRepo, before: string, after: string) {
  const repository = {
    id: 1,
    name: 'agent-releases',
    full_name: 'mngd/agent-releases',
    private: true,
    default_branch: 'main',
    owner: { login: 'mngd', name: 'mngd' },
  };
  const message = repo.git('log', '-1', '--format=%s', after);
  const commit = {
    id: after,
    tree_id: repo.git('rev-parse', `${after}^{tree}`),
    message,
    timestamp: '2026-11-27T02:00:00Z',
    author: { name: 'Release Engineer', email: 'releases@example.com' },
    added: repo.git('diff', '--name-only', '--diff-filter=A', before, after).split('\n').filter(Boolean),
    removed: [],
    modified: [],
  };
  return {
    event: {
      ref: 'refs/heads/main',
      before,
      after,
      created: false,
      deleted: false,
      forced: false,
      base_ref: null,
      compare: `https://github.com/mngd/agent-releases/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
      commits: [commit],
      head_commit: commit,
      repository,
      pusher: { name: 'release-engineer' },
      sender: { login: 'release-engineer' },
    },
    github: { sha: after, ref: 'refs/heads/main', base_ref: '', head_ref: '', repository: repository.full_name },
  };
}

describe('release-publish.yml and release-refresh.yml, run as GitHub runs them after a merge', () => {
  let srv: TestServer;
  let db: TestDatabase | undefined;
  let repo: ReleaseRepo;
  let runner: Runner;
  let publishSteps: JobStep[];
  let refreshSteps: JobStep[];
  let publish: StepResult[];
  let refresh: StepResult[];
  const key = generateSigningKey();
  const pkg100 = generatedBytes(1, 4096);
  const pkg110 = generatedBytes(2, 50_000);
  const bucket = () => join(repo.dir, '.state', 'bucket');

  before(async () => {
    srv = await startHttpsServer(
      routes({ '/agent/1.0.0.pkg': servePackage(pkg100), '/agent/1.1.0.pkg': servePackage(pkg110) }),
    );
    // PostgreSQL when the run has one (CI), else the embedded table the CLI opens without DATABASE_URL.
    db = process.env['TEST_DATABASE_URL'] ? await openTestDatabase() : undefined;
    repo = releaseRepo();
    repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [key] }));
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({ version: '1.0.0', url: srv.url('/agent/1.0.0.pkg'), sha256: sha256(pkg100), size: pkg100.length }),
    );
    const before = repo.commit('Release 1.0.0');
    repo.write(
      'releases/1.1.0.yaml',
      releaseYaml({
        version: '1.1.0',
        url: srv.url('/agent/1.1.0.pkg'),
        sha256: sha256(pkg110),
        size: pkg110.length,
        extra: ['channel: beta'],
      }),
    );
    const after = repo.commit('Release 1.1.0 to beta (#42)');
    const push = pushEvent(repo, before, after);
    runner = makeRunner({
      event: push.event,
      eventName: 'push',
      github: push.github,
      secrets: { DATABASE_URL: db?.url ?? '', MNGD_SIGNING_KEY: key.privateKeyText },
      vars: { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/mngd-release-publish', AWS_REGION: 'us-east-1' },
      env: { NODE_EXTRA_CA_CERTS: testTls().caFile },
    });
    withTableImpl = async (fn) => {
      if (db) return fn(db.db);
      // The CLI has exited: the embedded database folder is free to open here.
      const local = await openPglite(join(repo.dir, '.state', 'pglite'));
      try {
        return await fn(local);
      } finally {
        await local.close();
      }
    };
    publishSteps = await publishJob(repo, runner);
    publish = pipelineResults(publishSteps);
    refreshSteps = await refreshJob(repo, runner);
    refresh = pipelineResults(refreshSteps);
  });
  after(async () => {
    await srv.close();
    await db?.close();
  });

  it('runs apply on merge, then drift and apply --refresh, each successfully', () => {
    assert.deepEqual(
      publish.map((r) => r.step.commands.join('+')),
      ['apply'],
    );
    assert.deepEqual(
      refresh.map((r) => r.step.commands.join('+')),
      ['drift', 'apply'],
    );
    assert.match(refresh[1]?.step.run ?? '', /apply --refresh/);
    for (const r of [...publish, ...refresh]) assert.equal(r.code, 0, describeResult(r));
    // The failure reports stay quiet when nothing failed.
    for (const s of [...publishSteps, ...refreshSteps]) assert.notEqual(s.outcome, 'failure', s.step.name);
    assert.equal(publishSteps.find((s) => s.step.if === 'failure()')?.how, 'skipped');
    assert.equal(refreshSteps.find((s) => s.step.if === 'failure()')?.how, 'skipped');
  });

  it('records the releases in agent_releases (the beta release stays inactive for the legacy endpoint)', async () => {
    const { rows } = await withTable((sql) =>
      sql.query<{ version: string; active: boolean }>('SELECT version, active FROM agent_releases ORDER BY version'),
    );
    assert.deepEqual(
      rows.map((r) => [r.version, r.active]),
      [
        ['1.0.0', true],
        ['1.1.0', false],
      ],
    );
  });

  it('publishes a signed manifest per channel that an agent trusting the policy key accepts', () => {
    const trustedKeys = [publicKeyFromBase64(key.public_key)];
    const stable = verifyManifest(readFileSync(join(bucket(), 'latest.json')), {
      trustedKeys,
      channel: 'stable',
      now: new Date(),
    });
    assert.deepEqual(
      stable.signed.releases.map((r) => r.version),
      ['1.0.0'],
    );
    const beta = verifyManifest(readFileSync(join(bucket(), 'channels', 'beta', 'latest.json')), {
      trustedKeys,
      channel: 'beta',
      now: new Date(),
    });
    // A beta manifest also offers stable releases, but ends at the newest one at 100 %.
    assert.deepEqual(
      beta.signed.releases.map((r) => r.version),
      ['1.1.0'],
    );
  });

  it("never prints the signing key (only the runner's add-mask command may carry it)", () => {
    assertNoSecret([...publish, ...refresh], key.privateKeyText);
  });

  it("writes each step's summary under the 1 MiB limit", () => {
    for (const r of [...publish, ...refresh]) {
      assert.ok(r.summaryBytes > 0, `no job summary from ${describeResult(r)}`);
      assert.ok(r.summaryBytes < MiB);
    }
  });

  it('re-runs the refresh without writing anything while expiry is far', async () => {
    const latest = join(bucket(), 'latest.json');
    const beforeBytes = readFileSync(latest);
    const beforeMtime = statSync(latest).mtimeMs;
    for (const r of pipelineResults(await refreshJob(repo, runner))) assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(readFileSync(latest), beforeBytes);
    assert.equal(statSync(latest).mtimeMs, beforeMtime);
  });

  it('rotates the signing key as docs/github-setup.md says: trust both, sign with both, agents on either key accept', async () => {
    const next = generateSigningKey();
    repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [key, next] }));
    repo.commit('Trust the 2027 signing key');
    const rotating = {
      ...runner,
      contexts: {
        ...runner.contexts,
        secrets: {
          ...(runner.contexts['secrets'] as object),
          MNGD_SIGNING_KEY: `${key.privateKeyText},${next.privateKeyText}`,
        },
      },
    };
    const results = pipelineResults(await refreshJob(repo, rotating));
    for (const r of results) assert.equal(r.code, 0, describeResult(r));
    for (const k of [key, next]) assertNoSecret(results, k.privateKeyText);
    for (const [channel, path] of [
      ['stable', 'latest.json'],
      ['beta', 'channels/beta/latest.json'],
    ] as const) {
      const raw = readFileSync(join(bucket(), path));
      for (const trusted of [key, next]) {
        const v = verifyManifest(raw, {
          trustedKeys: [publicKeyFromBase64(trusted.public_key)],
          channel,
          now: new Date(),
        });
        assert.deepEqual(v.signers, [trusted.keyid]);
      }
    }
  });

  it('fails the refresh loudly when the table was changed by hand, after repairing a manifest changed by hand', async () => {
    const latest = join(bucket(), 'channels', 'beta', 'latest.json');
    const tampered = JSON.parse(readFileSync(latest, 'utf8')) as {
      signed: { releases: { rollout_percent: number }[] };
    };
    (tampered.signed.releases[0] as { rollout_percent: number }).rollout_percent = 0;
    writeFileSync(latest, JSON.stringify(tampered));
    await withTable((sql) =>
      sql.query("UPDATE agent_releases SET release_notes = 'edited by hand' WHERE version = '1.0.0'"),
    );
    const steps = await refreshJob(repo, runner);
    // apply --refresh replaces the manifest that no longer verifies...
    const republish = pipelineResults(steps).find((r) => r.step.commands.includes('apply'));
    assert.equal(republish?.code, 0, republish && describeResult(republish));
    const beta = verifyManifest(readFileSync(latest), {
      trustedKeys: [publicKeyFromBase64(key.public_key)],
      channel: 'beta',
      now: new Date(),
    });
    assert.equal(beta.signed.releases[0]?.rollout_percent, 100);
    // ...after drift, which ran first, found the row edited by hand, and the job says so loudly.
    const drift = pipelineResults(steps).find((r) => r.step.commands.includes('drift'));
    assert.equal(drift?.code, 1, drift && describeResult(drift));
    assert.match(`${drift?.stdout}${drift?.stderr}`, /1\.0\.0[\s\S]*release_notes|release_notes[\s\S]*1\.0\.0/);
    const loud = steps.find((s) => s.step.if === 'failure()');
    assert.equal(loud?.how, 'ran');
    assert.match(loud?.result?.stdout ?? '', /^::error title=release-refresh failed::/m);
    assert.match(loud?.result?.summary ?? '', /release-refresh failed/);
  });

  it('says where the publish stopped when apply fails (no signing key in the environment)', async () => {
    const noKey = {
      ...runner,
      contexts: { ...runner.contexts, secrets: { ...(runner.contexts['secrets'] as object), MNGD_SIGNING_KEY: '' } },
    };
    const steps = await publishJob(repo, noKey);
    const apply = pipelineResults(steps)[0];
    assert.ok(apply && apply.code !== 0, apply && describeResult(apply));
    assert.match(apply.stderr, /MNGD_SIGNING_KEY/);
    const report = steps.find((s) => s.step.if === 'failure()');
    assert.equal(report?.how, 'ran');
    assert.match(report?.result?.summary ?? '', /Publish of [0-9a-f]{40} failed/);
  });
});
