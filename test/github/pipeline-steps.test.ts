/**
 * release-pr.yml run as GitHub runs it: the job's steps are read from the workflow (scripts, env,
 * `if:` conditions), so a flag or variable renamed on one side fails here. Each script runs as a
 * child process under GitHub's environment (GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
 * GITHUB_EVENT_PATH holding a realistic pull_request event) in a temporary git repository of
 * releases checked out at the merge commit, with packages served over HTTPS on loopback.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateSigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { pipelineResults, type JobStep } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml } from './release-repo.js';
import { assertCalledCorrectly, assertSummaries, describeResult, ranCommand, runPullRequest } from './pull-request.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('release-pr.yml on a pull request that adds a broken release and a package that does not match', () => {
  let srv: TestServer;
  let steps: JobStep[];
  const pkg100 = generatedBytes(1, 4096);
  const pkg110 = generatedBytes(2, 70_000);
  const pkg111 = generatedBytes(3, 30_000);

  before(async () => {
    srv = await startHttpsServer(
      routes({
        '/agent/mngd-agent-1.0.0.pkg': servePackage(pkg100),
        '/agent/mngd-agent-1.1.0.pkg': servePackage(pkg110),
        '/agent/mngd-agent-1.1.1.pkg': servePackage(pkg111),
      }),
    );
    const repo = releaseRepo();
    repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [generateSigningKey()] }));
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({
        version: '1.0.0',
        url: srv.url('/agent/mngd-agent-1.0.0.pkg'),
        sha256: sha256(pkg100),
        size: pkg100.length,
      }),
    );
    const base = repo.commit('Release 1.0.0');
    // The test CA stands in for the public CA a real CDN's certificate chains to.
    steps = await runPullRequest(
      repo,
      base,
      () => {
        repo.write(
          'releases/1.1.0.yaml',
          releaseYaml({
            version: '1.1.0',
            url: srv.url('/agent/mngd-agent-1.1.0.pkg'),
            sha256: sha256(pkg110),
            size: pkg110.length,
          }),
        );
        // A package that does not match its file: the sha256 on line 3 is that of other bytes.
        repo.write(
          'releases/1.1.1.yaml',
          releaseYaml({
            version: '1.1.1',
            url: srv.url('/agent/mngd-agent-1.1.1.pkg'),
            sha256: sha256(Buffer.from('other bytes')),
            size: pkg111.length,
          }),
        );
        // A schema error on line 5 of releases/1.2.0.yaml.
        repo.write(
          'releases/1.2.0.yaml',
          releaseYaml({
            version: '1.2.0',
            url: srv.url('/agent/mngd-agent-1.2.0.pkg'),
            sha256: sha256(Buffer.from('1.2.0')),
            size: 1000,
            extra: ['rollout_percent: 150'],
          }),
        );
      },
      42,
      { env: { NODE_EXTRA_CA_CERTS: testTls().caFile } },
    );
  });
  after(() => srv.close());

  it('decides that the pull request needs the release checks', () => {
    const changes = steps.find((s) => s.step.id === 'changes');
    assert.equal(changes?.how, 'ran');
    assert.match(changes?.result?.output ?? '', /^relevant=true$/m);
  });

  it('calls every command with flags it accepts', () => assertCalledCorrectly(steps));

  it('fails validate and annotates the error on its line in the release file', () => {
    const r = ranCommand(steps, 'validate');
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stdout, /^::error [^\n]*file=releases\/1\.2\.0\.yaml,line=5[,:]/m);
    const hits = r.annotations.filter((a) => a.level === 'error' && a.props['file'] === 'releases/1.2.0.yaml');
    assert.ok(
      hits.some((a) => a.props['line'] === '5'),
      `expected line=5: ${JSON.stringify(hits)}`,
    );
    // The valid releases and the base release are not blamed.
    assert.ok(!r.annotations.some((a) => a.level === 'error' && a.props['file'] !== 'releases/1.2.0.yaml'), r.stdout);
  });

  it('still verifies the packages after validate failed, and annotates the mismatch on its sha256 line', () => {
    const r = ranCommand(steps, 'verify-artifacts');
    assert.equal(r.code, 1, describeResult(r));
    const hits = r.annotations.filter((a) => a.level === 'error' && a.props['file'] === 'releases/1.1.1.yaml');
    assert.ok(
      hits.some((a) => a.props['line'] === '3'),
      `expected an error on releases/1.1.1.yaml line 3:\n${r.stdout}`,
    );
    assert.ok(
      hits.some((a) => a.message.includes(sha256(pkg111))),
      'the annotation names the hash the package really has',
    );
    assert.ok(!r.annotations.some((a) => a.level === 'error' && a.props['file'] === 'releases/1.1.0.yaml'), r.stdout);
  });

  it('downloads only the packages of the releases the pull request changed', () => {
    const paths = srv.requests.map((q) => q.path);
    assert.ok(paths.includes('/agent/mngd-agent-1.1.0.pkg'), `requests: ${paths.join(', ')}`);
    assert.ok(paths.includes('/agent/mngd-agent-1.1.1.pkg'), `requests: ${paths.join(', ')}`);
    assert.ok(
      !paths.includes('/agent/mngd-agent-1.0.0.pkg'),
      `the unchanged 1.0.0 was downloaded: ${paths.join(', ')}`,
    );
  });

  it("does not plan invalid releases (it would only repeat validate's errors)", () => {
    const plan = steps.find((s) => s.step.name?.startsWith('Plan'));
    assert.equal(plan?.how, 'skipped');
  });

  it('writes a summary for every step, under the 1 MiB limit, naming the file and line', () => {
    assertSummaries(steps);
    assert.match(ranCommand(steps, 'validate').summary, /releases\/1\.2\.0\.yaml:5/);
  });
});

describe('release-pr.yml on a pull request that touches nothing relevant', () => {
  it('skips the release checks and says so in the summary, so the required check still passes', async () => {
    const repo = releaseRepo();
    repo.write(
      'releases/policy.yaml',
      policyYaml({ prefix: 'https://cdn.example.com/agent/', keys: [generateSigningKey()] }),
    );
    repo.write('README.md', 'v1\n');
    const base = repo.commit('base');
    const steps = await runPullRequest(repo, base, () => repo.write('README.md', 'v2\n'), 44);
    const changes = steps.find((s) => s.step.id === 'changes');
    assert.match(changes?.result?.output ?? '', /^relevant=false$/m);
    assert.match(changes?.result?.summary ?? '', /no release check needed/);
    assert.deepEqual(pipelineResults(steps), []);
    assert.ok(steps.every((s) => s.outcome !== 'failure'));
  });
});
