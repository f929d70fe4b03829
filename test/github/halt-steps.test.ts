/**
 * The break-glass workflow (release-halt.yml) run as GitHub runs it on a dispatch: it halts the
 * release on main's files, publishes at once to the local-directory target, pushes the branch
 * halt-<version> to origin (a bare repository here) and opens the pull request (the `gh` shim).
 * Then what keeps the halt until that pull request is merged: drift names it, release-publish
 * refuses to publish main, and a second break-glass run keeps the first one's halt.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../schema/keys.js';
import { runBin } from '../support/cli.js';
import { workflowFile } from './workflows.js';
import { failedSteps, makeRunner, runJob, type JobStep } from './run-step.js';
import { addOrigin, liveVersions, policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';

const TOKEN = 'ghs_breakglassTESTtoken0123456789';
const BAD = `# the canary that crashes
${releaseYaml({ version: '1.0.1', url: 'https://cdn.example.test/agent/1.0.1.pkg', sha256: 'b'.repeat(64), size: 2000, extra: ['rollout_percent: 10 # canary'] })}`;

/** A dispatch of release-halt.yml on main, as GitHub runs it (a fresh runner: main checked out). */
function dispatchHalt(
  repo: ReleaseRepo,
  ghDir: string,
  inputs: { version: string; reason: string },
  signingKey: string,
  failing: readonly string[] = [],
): Promise<JobStep[]> {
  repo.git('checkout', '-q', 'main'); // what actions/checkout with ref: main gives the job
  repo.git('fetch', '-q', 'origin');
  const runner = makeRunner({
    event: { inputs: { ...inputs, channel: 'stable' }, ref: 'refs/heads/main' },
    eventName: 'workflow_dispatch',
    github: {
      sha: repo.git('rev-parse', 'HEAD'),
      ref: 'refs/heads/main',
      repository: 'mngd/agent-releases',
      server_url: 'https://github.com',
    },
    secrets: { MNGD_SIGNING_KEY: signingKey, GITHUB_TOKEN: TOKEN },
    env: { GH_SHIM_DIR: ghDir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
  return runJob(workflowFile('release-halt.yml'), 'halt', repo.dir, runner, { failing });
}

/** main with 1.0.0 and the bad canary 1.0.1, pushed to a bare origin and published (both live). */
async function repoWithBadCanary(key: ReturnType<typeof generateSigningKey>): Promise<{
  repo: ReleaseRepo;
  origin: ReturnType<typeof addOrigin>;
}> {
  const repo = releaseRepo();
  const origin = addOrigin(repo);
  repo.write('releases/policy.yaml', policyYaml({ prefix: 'https://cdn.example.test/agent/', keys: [key] }));
  repo.write(
    'releases/1.0.0.yaml',
    releaseYaml({
      version: '1.0.0',
      url: 'https://cdn.example.test/agent/1.0.0.pkg',
      sha256: 'a'.repeat(64),
      size: 1000,
    }),
  );
  repo.write('releases/1.0.1.yaml', BAD);
  repo.commit('Release 1.0.1 to 10 %');
  repo.git('push', '-q', 'origin', 'main');
  const pub = await runBin(['publish'], { cwd: repo.dir, env: { MNGD_SIGNING_KEY: key.privateKeyText } });
  assert.equal(pub.code, 0, pub.stderr);
  return { repo, origin };
}

describe('release-halt.yml (break-glass), run as GitHub runs it', () => {
  const key = generateSigningKey();
  let repo: ReleaseRepo;
  let origin: ReturnType<typeof addOrigin>;
  let ghDir: string;
  let steps: JobStep[];
  const live = () => liveVersions(repo);
  const originGit = (...args: string[]) => origin.git(...args);
  const dispatch = (version: string, reason: string) =>
    dispatchHalt(repo, ghDir, { version, reason }, key.privateKeyText);
  const failed = failedSteps;

  before(async () => {
    ({ repo, origin } = await repoWithBadCanary(key));
    assert.deepEqual(live(), ['1.0.1', '1.0.0']);
    ghDir = mkdtempSync(join(tmpdir(), 'mngd-gh-'));
    steps = await dispatch('1.0.1', 'crashes on launch');
  });

  it('halts, publishes and records the change, every step passing', () => {
    assert.equal(failed(steps), '');
    const ran = steps.filter((s) => s.how === 'ran').map((s) => s.step.name);
    assert.deepEqual(ran, [
      'Keep the halts still waiting for review',
      'Halt the release (edit its file)',
      'Publish the manifests now',
      'Record the halt in git (branch and pull request)',
    ]);
    assert.deepEqual(live(), ['1.0.0']);
  });

  it('pushes halt-1.0.1 with exactly the halt added to the file, and opens its pull request', () => {
    const diff = originGit('diff', 'main', 'halt-1.0.1');
    const added = diff.split('\n').filter((l) => /^[+-][^+-]/.test(l));
    assert.equal(added.length, 3, diff);
    assert.equal(added[0], '+halted:');
    assert.equal(added[1], '+  reason: "crashes on launch"');
    assert.match(added[2]!, /^\+ {2}at: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/);
    assert.equal(
      originGit('log', '-1', '--format=%B', 'halt-1.0.1').trim(),
      'Halt 1.0.1\n\ncrashes on launch\n\nPublished by https://github.com/mngd/agent-releases/actions/runs/4242424242',
    );
    const calls = readFileSync(join(ghDir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
    const create = calls.find((c) => c[1] === 'create')!;
    assert.deepEqual(
      [
        create[create.indexOf('--base') + 1],
        create[create.indexOf('--head') + 1],
        create[create.indexOf('--title') + 1],
      ],
      ['main', 'halt-1.0.1', 'Halt 1.0.1'],
    );
    assert.match(create[create.indexOf('--body') + 1]!, /crashes on launch/);
  });

  it('never writes the token to disk or to the log', () => {
    assert.doesNotMatch(readFileSync(join(repo.dir, '.git', 'config'), 'utf8'), /extraheader|ghs_/);
    for (const s of steps) assert.doesNotMatch(`${s.result?.stdout ?? ''}${s.result?.stderr ?? ''}`, /ghs_breakglass/);
  });

  it('is named by drift from main while its pull request is open', async () => {
    repo.git('checkout', '-q', 'main');
    const r = await runBin(['drift', '--only', 'manifests'], { cwd: repo.dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /MANIFEST_LIVE_HALT|1\.0\.1 is halted live but not in git/);
  });

  it('makes release-publish refuse to publish main (which would offer 1.0.1 again) until it is merged', async () => {
    repo.git('checkout', '-q', 'main');
    const runner = makeRunner({
      event: { ref: 'refs/heads/main' },
      eventName: 'push',
      github: { sha: repo.git('rev-parse', 'HEAD'), ref: 'refs/heads/main', repository: 'mngd/agent-releases' },
      secrets: { MNGD_SIGNING_KEY: key.privateKeyText, GITHUB_TOKEN: TOKEN },
      env: { GH_SHIM_DIR: ghDir },
    });
    const publish = await runJob(workflowFile('release-publish.yml'), 'apply', repo.dir, runner);
    const gate = publish.find((s) => s.step.name === 'Refuse to undo a live halt');
    assert.equal(gate?.outcome, 'failure');
    assert.match(
      gate!.result!.stdout,
      /^::error title=Live halt not in main::1\.0\.1 was halted live by release-halt/m,
    );
    assert.equal(publish.find((s) => s.step.run?.includes('mngd-release apply'))?.how, 'skipped');
    assert.deepEqual(live(), ['1.0.0']);
  });

  it('keeps the first halt when a second break-glass run halts another release before the first is merged', async () => {
    repo.write(
      'releases/1.0.2.yaml',
      releaseYaml({
        version: '1.0.2',
        url: 'https://cdn.example.test/agent/1.0.2.pkg',
        sha256: 'c'.repeat(64),
        size: 3000,
        extra: ['rollout_percent: 5'],
      }),
    );
    repo.commit('Release 1.0.2 to 5 %');
    repo.git('push', '-q', 'origin', 'main');
    const second = await dispatch('1.0.2', 'same crash');
    assert.equal(failed(second), '');
    const keep = second.find((s) => s.step.name === 'Keep the halts still waiting for review');
    assert.match(keep?.result?.stdout ?? '', /Kept the halt of halt-1\.0\.1/);
    assert.deepEqual(live(), ['1.0.0']);
    assert.deepEqual(originGit('diff', '--name-only', 'main', 'halt-1.0.2').trim().split('\n'), [
      'releases/1.0.1.yaml',
      'releases/1.0.2.yaml',
    ]);
  });
});

describe('release-halt.yml when the publish fails: git records the halt, and says it is NOT live', () => {
  const key = generateSigningKey();
  let repo: ReleaseRepo;
  let origin: ReturnType<typeof addOrigin>;
  let ghDir: string;
  let steps: JobStep[];
  const live = () => liveVersions(repo);
  const calls = () =>
    readFileSync(join(ghDir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
  const bodyOf = (call: readonly string[]) => call[call.indexOf('--body') + 1] ?? '';
  const record = (s: readonly JobStep[]) =>
    s.find((x) => x.step.name === 'Record the halt in git (branch and pull request)');
  // signingKey '' is what a missing or unreadable production secret gives the job.
  const dispatch = (signingKey: string) => {
    // A fresh runner has only main checked out, the halt-* branches as origin/halt-*.
    repo.git('checkout', '-q', 'main');
    if (repo.git('branch', '--list', 'halt-1.0.1') !== '') repo.git('branch', '-q', '-D', 'halt-1.0.1');
    return dispatchHalt(repo, ghDir, { version: '1.0.1', reason: 'crashes on launch' }, signingKey);
  };

  before(async () => {
    ({ repo, origin } = await repoWithBadCanary(key));
    ghDir = mkdtempSync(join(tmpdir(), 'mngd-gh-'));
    steps = await dispatch('');
  });

  it('fails the job at the publish, still records the halt in git, and the release stays live', () => {
    const failedNames = steps.filter((s) => s.outcome === 'failure').map((s) => s.step.name);
    assert.deepEqual(failedNames, ['Publish the manifests now'], failedSteps(steps));
    const publish = steps.find((s) => s.step.name === 'Publish the manifests now')!.result!;
    assert.match(`${publish.stdout}${publish.stderr}`, /MNGD_SIGNING_KEY/);
    assert.equal(record(steps)?.outcome, 'success', failedSteps(steps));
    assert.deepEqual(live(), ['1.0.1', '1.0.0']);
    assert.match(
      originGitLog(),
      /^Halt 1\.0\.1\n\ncrashes on launch\n\nNOT published: the publish failed in https:\/\/github\.com\//,
    );
  });

  it('says in the job summary that the halt is NOT live and to re-run the workflow', () => {
    const summary = record(steps)!.result!.summary;
    assert.match(summary, /^### Halt of 1\.0\.1 recorded, NOT live: the publish failed$/m);
    assert.match(
      summary,
      /Re-run this workflow \(Re-run failed jobs\); until then devices are still offered 1\.0\.1\./,
    );
    assert.doesNotMatch(summary, /### Halted/);
  });

  it('opens the pull request with a body that says NOT live, not "Halted live"', () => {
    const create = calls().find((c) => c[1] === 'create');
    assert.ok(create, 'the pull request is still opened');
    const body = bodyOf(create);
    assert.match(
      body,
      /^NOT live: the halt of 1\.0\.1 is recorded here, but the publish failed in https:\/\/github\.com\/mngd\/agent-releases\/actions\/runs\/4242424242, so devices are still offered 1\.0\.1\. Re-run that workflow/,
    );
    assert.doesNotMatch(body, /Halted live/);
  });

  it('a re-run that publishes halts it live and makes the pull request body and the summary true again', async () => {
    const rerun = await dispatch(key.privateKeyText);
    assert.equal(failedSteps(rerun), '');
    assert.deepEqual(live(), ['1.0.0']);
    const all = calls();
    assert.equal(all.filter((c) => c[1] === 'create').length, 1, 'one pull request, not a second');
    const edit = all.find((c) => c[1] === 'edit');
    assert.ok(edit, 'the open pull request is edited');
    assert.match(
      bodyOf(edit),
      /^Halted live by https:\/\/github\.com\/mngd\/agent-releases\/actions\/runs\/4242424242: crashes on launch/,
    );
    assert.match(record(rerun)!.result!.summary, /^### Halted 1\.0\.1$/m);
    assert.match(originGitLog(), /\n\nPublished by https:\/\/github\.com\//);
  });

  const originGitLog = () => origin.git('log', '-1', '--format=%B', 'halt-1.0.1').trim();
});

describe('release-halt.yml when a step before the publish fails: the message names it, not "the publish failed"', () => {
  const key = generateSigningKey();
  let repo: ReleaseRepo;
  let origin: ReturnType<typeof addOrigin>;
  let ghDir: string;
  let steps: JobStep[];
  const calls = () =>
    readFileSync(join(ghDir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
  const record = (s: readonly JobStep[]) =>
    s.find((x) => x.step.name === 'Record the halt in git (branch and pull request)');
  const WHY = 'the publish did not run because the step "AWS credentials (OIDC, no stored keys)" failed';

  before(async () => {
    ({ repo, origin } = await repoWithBadCanary(key));
    ghDir = mkdtempSync(join(tmpdir(), 'mngd-gh-'));
    // The credentials action fails (e.g. the role's trust policy refuses the token): publish is skipped.
    steps = await dispatchHalt(repo, ghDir, { version: '1.0.1', reason: 'crashes on launch' }, key.privateKeyText, [
      'credentials',
    ]);
  });

  it('skips the publish, still records the halt in git, and the release stays live', () => {
    const failedNames = steps.filter((s) => s.outcome === 'failure').map((s) => s.step.name);
    assert.deepEqual(failedNames, ['AWS credentials (OIDC, no stored keys)'], failedSteps(steps));
    assert.equal(steps.find((s) => s.step.name === 'Publish the manifests now')?.how, 'skipped');
    assert.equal(record(steps)?.outcome, 'success', failedSteps(steps));
    assert.deepEqual(liveVersions(repo), ['1.0.1', '1.0.0']);
    assert.equal(
      origin.git('log', '-1', '--format=%B', 'halt-1.0.1').trim(),
      `Halt 1.0.1\n\ncrashes on launch\n\nNOT published: ${WHY} in https://github.com/mngd/agent-releases/actions/runs/4242424242`,
    );
  });

  it('says in the summary and the pull request that the publish did not run and which step failed, with the re-run advice', () => {
    const summary = record(steps)!.result!.summary;
    assert.equal(summary.split('\n')[0], `### Halt of 1.0.1 recorded, NOT live: ${WHY}`);
    assert.match(
      summary,
      /Re-run this workflow \(Re-run failed jobs\); until then devices are still offered 1\.0\.1\./,
    );
    const create = calls().find((c) => c[1] === 'create');
    assert.ok(create, 'the pull request is still opened');
    const body = create[create.indexOf('--body') + 1] ?? '';
    assert.ok(
      body.startsWith(
        `NOT live: the halt of 1.0.1 is recorded here, but ${WHY} in https://github.com/mngd/agent-releases/actions/runs/4242424242, so devices are still offered 1.0.1. Re-run that workflow (Re-run failed jobs) until the publish passes.`,
      ),
      body,
    );
    for (const text of [summary, body]) assert.doesNotMatch(text, /the publish failed/);
  });

  it('records nothing when the halt itself fails (a mistyped version), even with a halt-* pull request open', async () => {
    // halt-1.0.1's pull request is open: its file is kept in the checkout before the halt runs.
    repo.git('checkout', '-q', 'main');
    repo.git('branch', '-q', '-D', 'halt-1.0.1');
    const typo = await dispatchHalt(repo, ghDir, { version: '1.0.9', reason: 'typo' }, key.privateKeyText);
    const keep = typo.find((s) => s.step.name === 'Keep the halts still waiting for review');
    assert.match(keep?.result?.stdout ?? '', /Kept the halt of halt-1\.0\.1/);
    assert.deepEqual(
      typo.filter((s) => s.outcome === 'failure').map((s) => s.step.name),
      ['Halt the release (edit its file)'],
      failedSteps(typo),
    );
    assert.equal(record(typo)?.how, 'skipped');
    assert.equal(origin.git('branch', '--list', 'halt-1.0.9'), '', 'no branch halt-1.0.9 pushed');
    assert.equal(calls().filter((c) => c[1] === 'create').length, 1, 'no second pull request');
  });
});
