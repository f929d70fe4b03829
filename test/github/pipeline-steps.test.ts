/**
 * The pipeline commands run exactly as the workflows call them: the `run:` scripts and env are
 * read from .github/workflows, so a flag or variable renamed on one side fails here. Each script
 * runs as a child process under GitHub's environment (GITHUB_ACTIONS, GITHUB_STEP_SUMMARY,
 * GITHUB_OUTPUT, GITHUB_EVENT_PATH holding a realistic event) in a temporary git repository of
 * releases, with packages served over HTTPS on loopback.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { commands } from '../../pipeline/commands/index.js';
import { generateSigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { pipelineSteps, workflowFile, type PipelineStep } from './workflows.js';
import { makeRunner, runStep, type Runner, type StepResult } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const registered = new Set(commands.map((c) => c.name));

/** The steps of a workflow whose mngd-release commands are all implemented. */
function stepsOf(file: string): PipelineStep[] {
  return pipelineSteps(workflowFile(file)).filter((s) => s.commands.every((c) => registered.has(c)));
}

function pullRequestEvent(repo: ReleaseRepo, base: string, head: string, merge: string, number = 42) {
  const repository = { id: 1, name: 'agent-releases', full_name: 'mngd/agent-releases', private: true, default_branch: 'main', owner: { login: 'mngd', type: 'Organization' } };
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
        head: { ref: 'release-1.1.0', sha: head, repo: repository, label: 'mngd:release-1.1.0' },
        base: { ref: 'main', sha: base, repo: repository, label: 'mngd:main' },
        changed_files: repo.git('diff', '--name-only', base, head).split('\n').filter(Boolean).length,
      },
      before: base,
      after: head,
      repository,
      sender: { login: 'release-engineer' },
    },
    github: { sha: merge, ref: `refs/pull/${number}/merge`, base_ref: 'main', head_ref: 'release-1.1.0', repository: repository.full_name },
  };
}

/** Builds the PR branch on top of `base` and checks out the merge commit, as actions/checkout does for pull_request. */
function openPullRequest(repo: ReleaseRepo, base: string, change: () => void): { head: string; merge: string } {
  repo.git('checkout', '-q', '-b', 'release-1.1.0');
  change();
  const head = repo.commit('Release 1.1.0');
  repo.git('checkout', '-q', '--detach', 'main');
  repo.git('-c', 'user.name=GitHub', '-c', 'user.email=noreply@github.com', 'merge', '-q', '--no-ff', '-m', `Merge ${head} into ${base}`, head);
  return { head, merge: repo.git('rev-parse', 'HEAD') };
}

async function runAll(steps: PipelineStep[], cwd: string, runner: Runner): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) results.push(await runStep(step, cwd, runner));
  return results;
}

const describeResult = (r: StepResult) => `step "${r.step.step.name}" exited ${r.code}\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`;

describe('release-pr.yml, run as GitHub runs it on a pull request', () => {
  let srv: TestServer;
  let results: StepResult[];
  const pkg100 = generatedBytes(1, 4096);
  const pkg110 = generatedBytes(2, 70_000);

  before(async () => {
    srv = await startHttpsServer(
      routes({ '/agent/mngd-agent-1.0.0.pkg': servePackage(pkg100), '/agent/mngd-agent-1.1.0.pkg': servePackage(pkg110) }),
    );
    const key = generateSigningKey();
    const repo = releaseRepo();
    repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [key] }));
    repo.write('releases/1.0.0.yaml', releaseYaml({ version: '1.0.0', url: srv.url('/agent/mngd-agent-1.0.0.pkg'), sha256: sha256(pkg100), size: pkg100.length }));
    const base = repo.commit('Release 1.0.0');
    const { head, merge } = openPullRequest(repo, base, () => {
      repo.write('releases/1.1.0.yaml', releaseYaml({ version: '1.1.0', url: srv.url('/agent/mngd-agent-1.1.0.pkg'), sha256: sha256(pkg110), size: pkg110.length }));
      // The error under test: line 5 of releases/1.2.0.yaml.
      repo.write(
        'releases/1.2.0.yaml',
        releaseYaml({ version: '1.2.0', url: srv.url('/agent/mngd-agent-1.2.0.pkg'), sha256: sha256(pkg110), size: pkg110.length, extra: ['rollout_percent: 150'] }),
      );
    });
    const pr = pullRequestEvent(repo, base, head, merge);
    // The test CA stands in for the public CA a real CDN's certificate chains to.
    const runner = makeRunner({ event: pr.event, eventName: 'pull_request', github: pr.github, env: { NODE_EXTRA_CA_CERTS: testTls().caFile } });
    results = await runAll(stepsOf('release-pr.yml'), repo.dir, runner);
  });
  after(() => srv.close());

  it('runs validate, and every other implemented command, with flags the command accepts', () => {
    const ran = results.flatMap((r) => r.step.commands);
    assert.ok(ran.includes('validate'), `ran: ${ran.join(', ')}`);
    for (const r of results) {
      // 2 = called wrongly (a flag the command does not know), 127 = no such program.
      assert.ok(r.code !== 2 && r.code !== 127, describeResult(r));
      assert.doesNotMatch(r.stderr, /unknown command|Unknown option|--help" for usage/, describeResult(r));
    }
  });

  it('fails validate and annotates the error on its line in the release file', () => {
    const r = results.find((x) => x.step.commands[0] === 'validate');
    assert.ok(r);
    assert.equal(r.code, 1, describeResult(r));
    const hits = r.annotations.filter((a) => a.level === 'error' && a.props['file'] === 'releases/1.2.0.yaml');
    assert.ok(hits.length > 0, `no ::error annotation for releases/1.2.0.yaml in:\n${r.stdout}`);
    assert.ok(hits.some((a) => a.props['line'] === '5'), `expected line=5: ${JSON.stringify(hits)}`);
    assert.match(r.stdout, /^::error [^\n]*file=releases\/1\.2\.0\.yaml,line=5[,:]/m);
    // The valid release and the base release are not blamed.
    assert.ok(!r.annotations.some((a) => a.level === 'error' && a.props['file'] !== 'releases/1.2.0.yaml'), r.stdout);
  });

  it('writes a summary for every step, under the 1 MiB limit', () => {
    for (const r of results) {
      assert.ok(r.summaryBytes > 0, `no job summary from ${describeResult(r)}`);
      assert.ok(r.summaryBytes < MiB, `${r.step.step.name}: ${r.summaryBytes} bytes`);
    }
    const validate = results.find((x) => x.step.commands[0] === 'validate');
    assert.match(validate?.summary ?? '', /releases\/1\.2\.0\.yaml:5/);
  });

  it('verifies only the packages of the releases the pull request changed', () => {
    const paths = srv.requests.map((q) => q.path);
    assert.ok(paths.includes('/agent/mngd-agent-1.1.0.pkg'), `requests: ${paths.join(', ')}`);
    assert.ok(!paths.includes('/agent/mngd-agent-1.0.0.pkg'), `the unchanged 1.0.0 was downloaded: ${paths.join(', ')}`);
  });
});

describe('release-pr.yml with thousands of problems', () => {
  let results: StepResult[];
  const FILES = 2500;

  before(async () => {
    const key = generateSigningKey();
    const repo = releaseRepo();
    repo.write('releases/policy.yaml', policyYaml({ prefix: 'https://cdn.example.com/agent/', keys: [key] }));
    repo.write('releases/1.0.0.yaml', releaseYaml({ version: '1.0.0', url: 'https://cdn.example.com/agent/1.0.0.pkg', sha256: 'a'.repeat(64), size: 10 }));
    const base = repo.commit('Release 1.0.0');
    const { head, merge } = openPullRequest(repo, base, () => {
      for (let i = 0; i < FILES; i++) {
        // Four problems each: an http URL outside the allowed prefixes, a bad hash, a bad size, a bad share.
        repo.write(
          `releases/2.0.${i}.yaml`,
          releaseYaml({ version: `2.0.${i}`, url: `http://downloads.example.org/some/long/path/agent-2.0.${i}.pkg`, sha256: 'XYZ', size: -1, extra: ['rollout_percent: 150'] }),
        );
      }
    });
    const pr = pullRequestEvent(repo, base, head, merge, 43);
    const runner = makeRunner({ event: pr.event, eventName: 'pull_request', github: pr.github });
    results = await runAll(stepsOf('release-pr.yml'), repo.dir, runner);
  });

  it('keeps every step summary under GitHub\'s 1 MiB limit, saying where it was cut', () => {
    for (const r of results) {
      assert.ok(r.code !== 2 && r.code !== 127, describeResult(r));
      assert.ok(r.summaryBytes > 0, `no job summary from ${describeResult(r)}`);
      assert.ok(r.summaryBytes < MiB, `${r.step.step.name}: ${r.summaryBytes} bytes`);
    }
    const validate = results.find((x) => x.step.commands[0] === 'validate');
    assert.ok(validate);
    assert.equal(validate.code, 1);
    assert.match(validate.summary, /cut/);
  });

  it('annotates every problem on its file and line', () => {
    const validate = results.find((x) => x.step.commands[0] === 'validate');
    assert.ok(validate);
    const errors = validate.annotations.filter((a) => a.level === 'error');
    assert.ok(errors.length >= FILES * 4, `${errors.length} error annotations for ${FILES} files with 4 problems each`);
    for (const a of errors) {
      assert.match(a.props['file'] ?? '', /^releases\/2\.0\.\d+\.yaml$/);
      assert.match(a.props['line'] ?? '', /^[1-5]$/);
    }
  });
});
