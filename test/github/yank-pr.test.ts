/**
 * release-pr.yml, run as GitHub runs it, on the pull requests an on-call opens to stop a bad
 * release whose package was already pulled from the CDN (it answers 404): the yank and the halt
 * pass the check, and the check never asks the CDN for that package.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { generateSigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { CLI, pipelineResults, type JobStep } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';
import { runBin } from '../support/cli.js';
import { assertCalledCorrectly, describeResult, ranCommand, runPullRequest } from './pull-request.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('release-pr.yml on the pull request that stops a release whose package is gone (404)', () => {
  let srv: TestServer;
  const pkg100 = generatedBytes(1, 4096);
  const pkg101 = generatedBytes(2, 5000); // never served: pulled from the CDN

  before(async () => {
    srv = await startHttpsServer(routes({ '/agent/1.0.0.pkg': servePackage(pkg100) }));
  });
  after(() => srv.close());

  function setUp(): { repo: ReleaseRepo; base: string } {
    const repo = releaseRepo();
    repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [generateSigningKey()] }));
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({ version: '1.0.0', url: srv.url('/agent/1.0.0.pkg'), sha256: sha256(pkg100), size: pkg100.length }),
    );
    repo.write(
      'releases/1.0.1.yaml',
      `# the bad one\n${releaseYaml({ version: '1.0.1', url: srv.url('/agent/1.0.1.pkg'), sha256: sha256(pkg101), size: pkg101.length, extra: ['rollout_percent: 10 # canary'] })}`,
    );
    return { repo, base: repo.commit('Release 1.0.1') };
  }

  async function stop(argv: string[], number: number): Promise<{ steps: JobStep[] }> {
    const { repo, base } = setUp();
    const steps = await runPullRequest(
      repo,
      base,
      () => void execFileSync(process.execPath, [CLI, ...argv], { cwd: repo.dir, stdio: 'ignore' }),
      number,
      { env: { NODE_EXTRA_CA_CERTS: testTls().caFile } },
    );
    return { steps };
  }

  it('passes the yank, saying why the package is not downloaded, and never requests it', async () => {
    const n = srv.requests.length;
    const { steps } = await stop(['yank', '1.0.1'], 50);
    assertCalledCorrectly(steps);
    for (const r of pipelineResults(steps)) assert.equal(r.code, 0, describeResult(r));
    const verify = ranCommand(steps, 'verify-artifacts');
    assert.match(verify.stdout, /^Not downloading releases\/1\.0\.1\.yaml: 1\.0\.1 is yanked \(active: false\)/m);
    assert.match(verify.summary, /Not downloaded: `releases\/1\.0\.1\.yaml`/);
    assert.deepEqual(
      srv.requests.slice(n).filter((q) => q.path.includes('1.0.1')),
      [],
    );
  });

  it("skips the package of a halted release the same way (the check's verify-artifacts step, run alone)", async () => {
    const n = srv.requests.length;
    const { repo, base } = setUp();
    execFileSync(process.execPath, [CLI, 'halt', '1.0.1', '--reason', 'crashes on launch'], { cwd: repo.dir });
    const r = await runBin(['verify-artifacts', '--changed-since', base, '--no-cache'], {
      cwd: repo.dir,
      env: { NODE_EXTRA_CA_CERTS: testTls().caFile },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Not downloading releases\/1\.0\.1\.yaml: 1\.0\.1 is halted \("crashes on launch", at /m);
    assert.match(r.stdout, /Verifying 0 packages/);
    assert.equal(srv.requests.length, n);
  });
});
