/**
 * Every workflow under .github/workflows passes @action-validator/cli (run as a child process,
 * so a new workflow is covered without touching this file), and keeps the security rules the
 * release pipeline depends on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, workflowFiles, type Job, type WorkflowFile } from './workflows.js';

const validator = join(repoRoot, 'node_modules', '.bin', 'action-validator');

async function validate(path: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(validator, [path], { cwd: repoRoot });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const workflows = workflowFiles();
const jobsOf = (wf: WorkflowFile): [string, Job][] => Object.entries(wf.workflow.jobs);
const environmentOf = (job: Job): string | undefined =>
  typeof job.environment === 'string' ? job.environment : job.environment?.name;
/**
 * The environment of the scheduled jobs (the 30-minute refresh, the 15-minute guard): production,
 * or one without required reviewers that the repository variable names, so that a schedule never
 * waits for an approval (a refresh that waits lets the manifests expire).
 */
const SCHEDULED = "${{ vars.MNGD_SCHEDULED_ENVIRONMENT || 'production' }}";
/** The environments that hold the production secrets: production, and the scheduled jobs' one. */
const isProduction = (env: string | undefined): boolean => env === 'production' || env === SCHEDULED;
/** A job that calls a workflow of this repository whose every job runs in the production environment. */
const callsOnlyProduction = (job: Job): boolean => {
  const m = /^\.\/\.github\/workflows\/([\w.-]+)$/.exec(job.uses ?? '');
  const called = m ? workflows.find((w) => w.file === m[1]) : undefined;
  return called !== undefined && Object.values(called.workflow.jobs).every((j) => environmentOf(j) === 'production');
};

describe('the workflows', () => {
  it('include the release PR check, the publish, the refresh and CI', () => {
    const names = workflows.map((w) => w.file);
    for (const f of [
      'ci.yml',
      'release-pr.yml',
      'release-publish.yml',
      'release-refresh.yml',
      'release-halt.yml',
      'agent-build.yml',
      'release-guard.yml',
    ])
      assert.ok(names.includes(f), `${f} is missing: ${names.join(', ')}`);
  });

  it('run the required checks in a merge queue too (merge_group), grouped per ref, and Dependabot updates npm', () => {
    for (const file of ['ci.yml', 'release-pr.yml']) {
      const wf = workflows.find((w) => w.file === file);
      assert.ok(
        wf && 'merge_group' in wf.workflow.on,
        `${file} lacks a merge_group trigger: a merge queue would stall`,
      );
      const group =
        typeof wf.workflow.concurrency === 'string' ? wf.workflow.concurrency : wf.workflow.concurrency?.group;
      // pull_request.number is empty in a merge queue: every queued run would cancel the others.
      assert.doesNotMatch(group ?? '', /pull_request/, `${file}: ${group}`);
    }
    const pr = workflows.find((w) => w.file === 'release-pr.yml');
    assert.doesNotMatch(
      pr?.text ?? '',
      /github\.event\.pull_request\.base\.sha/,
      'a merge queue has no pull_request base',
    );
    const dependabot = readFileSync(join(repoRoot, '.github', 'dependabot.yml'), 'utf8');
    assert.match(dependabot, /package-ecosystem: npm/);
    assert.match(dependabot, /package-ecosystem: github-actions/);
  });

  for (const wf of workflows) {
    it(`${wf.file} passes action-validator`, async () => {
      const { code, output } = await validate(wf.path);
      assert.equal(code, 0, `action-validator rejected ${wf.file}:\n${output}`);
    });
  }

  it('are checked by a validator that does reject a broken workflow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-wf-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: true\n');
    const { code, output } = await validate(bad);
    assert.equal(code, 1);
    assert.match(output, /stepz/);
  });

  for (const wf of workflows) {
    describe(wf.file, () => {
      it('pins every third-party action to a full commit SHA with a version comment', () => {
        const uses = [...wf.text.matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/gm)];
        for (const [, ref, rest] of uses) {
          if ((ref as string).startsWith('./')) continue;
          // A tag or branch can be moved to other code by whoever controls the action's repository.
          assert.match(
            ref as string,
            /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/,
            `${wf.file}: "${ref}" is not pinned to a 40-hex commit SHA`,
          );
          assert.match(
            rest as string,
            /^\s+# v\d+\.\d+\.\d+\s*$/,
            `${wf.file}: "${ref}" needs a "# vX.Y.Z" comment naming the release it pins`,
          );
        }
      });

      it('grants no write permission at the top level', () => {
        const perms = wf.workflow.permissions;
        assert.ok(perms !== undefined, `${wf.file} must set top-level permissions (least privilege by default)`);
        assert.notEqual(perms, 'write-all');
        if (typeof perms === 'object')
          for (const [scope, level] of Object.entries(perms))
            assert.notEqual(level, 'write', `${wf.file}: top-level ${scope}: write`);
      });

      it('asks for an OIDC token and production secrets only in jobs of the production environment', () => {
        for (const [id, job] of jobsOf(wf)) {
          const perms = typeof job.permissions === 'object' ? job.permissions : {};
          const jobText = JSON.stringify(job);
          const production = isProduction(environmentOf(job)) || callsOnlyProduction(job);
          if (perms['id-token'] === 'write')
            assert.ok(production, `${wf.file} job ${id}: id-token: write outside the production environment`);
          // The publish credentials must never be readable by a pull request's code.
          if (/secrets\.(DATABASE_URL|MNGD_SIGNING_KEY)\b/.test(jobText))
            assert.ok(production, `${wf.file} job ${id}: production secrets outside the production environment`);
          for (const [scope, level] of Object.entries(perms)) {
            // The break-glass job pushes its halt-<version> branch and opens the pull request (the
            // guard grants it the same by calling it).
            const breakGlass =
              (wf.file === 'release-halt.yml' || job.uses === './.github/workflows/release-halt.yml') &&
              (scope === 'contents' || scope === 'pull-requests');
            // The release PR check posts the plan as a sticky comment (nothing else it may write).
            const planComment = wf.file === 'release-pr.yml' && scope === 'pull-requests';
            if (level === 'write')
              assert.ok(
                scope === 'id-token' || (breakGlass && production) || planComment,
                `${wf.file} job ${id}: ${scope}: write is more than the pipeline needs`,
              );
          }
        }
      });

      it('never runs pull-request code with secrets (pull_request_target) or interpolates expressions into scripts', () => {
        assert.ok(
          !('pull_request_target' in (wf.workflow.on ?? {})),
          `${wf.file}: pull_request_target runs untrusted code with secrets`,
        );
        for (const [id, job] of jobsOf(wf)) {
          for (const step of job.steps ?? []) {
            // Script injection: values reach scripts through env, never pasted into the shell text.
            if (typeof step.run === 'string')
              assert.ok(
                !step.run.includes('${{'),
                `${wf.file} job ${id} step "${step.name ?? step.run}": pass expressions through env`,
              );
          }
        }
      });

      it('does not keep the checkout token on disk', () => {
        for (const [id, job] of jobsOf(wf)) {
          for (const step of job.steps ?? []) {
            if (step.uses?.startsWith('actions/checkout@'))
              assert.equal(
                step.with?.['persist-credentials'],
                false,
                `${wf.file} job ${id}: set persist-credentials: false`,
              );
          }
        }
      });
    });
  }

  it('never run two publishes at once, and never cancel a running one', () => {
    for (const file of ['release-publish.yml', 'release-refresh.yml']) {
      const wf = workflows.find((w) => w.file === file);
      assert.ok(wf, `${file} is missing`);
      const c = wf.workflow.concurrency;
      assert.ok(c !== undefined && typeof c === 'object', `${file}: needs a concurrency group`);
      assert.equal(c.group, 'release-publish');
      assert.equal(c['cancel-in-progress'], false);
      const env = file === 'release-refresh.yml' ? SCHEDULED : 'production';
      for (const [id, job] of jobsOf(wf)) assert.equal(environmentOf(job), env, `${file} job ${id}`);
    }
  });

  it('run the scheduled jobs where no reviewer waits once MNGD_SCHEDULED_ENVIRONMENT names one; everything else in production', () => {
    for (const wf of workflows) {
      const scheduled = 'schedule' in (wf.workflow.on ?? {});
      for (const [id, job] of jobsOf(wf)) {
        const env = environmentOf(job);
        if (env === undefined) continue;
        if (scheduled) assert.equal(env, SCHEDULED, `${wf.file} job ${id}: a schedule must not wait for reviewers`);
        else assert.ok(env === 'production' || env === 'agent-signing', `${wf.file} job ${id}: ${env}`);
      }
    }
    const setup = readFileSync(join(repoRoot, 'docs', 'github-setup.md'), 'utf8');
    assert.ok(setup.includes('MNGD_SCHEDULED_ENVIRONMENT'), 'docs/github-setup.md says how to split the environment');
  });

  it('run the break-glass halt only by hand or from the guard, on main, in the production environment', () => {
    const wf = workflows.find((w) => w.file === 'release-halt.yml');
    assert.ok(wf);
    assert.deepEqual(Object.keys(wf.workflow.on), ['workflow_dispatch', 'workflow_call']);
    for (const trigger of ['workflow_dispatch', 'workflow_call']) {
      const spec = wf.workflow.on[trigger] as { inputs: Record<string, { required: boolean }> };
      assert.deepEqual(Object.keys(spec.inputs), ['version', 'channel', 'reason'], trigger);
    }
    const callers = workflows.filter((w) =>
      Object.values(w.workflow.jobs).some((j) => j.uses?.endsWith('/release-halt.yml')),
    );
    assert.deepEqual(
      callers.map((w) => w.file),
      ['release-guard.yml'],
    );
    for (const [id, job] of jobsOf(wf)) {
      assert.equal(environmentOf(job), 'production', `release-halt.yml job ${id}`);
      const checkout = (job.steps ?? []).find((s) => s.uses?.startsWith('actions/checkout@'));
      assert.equal(checkout?.with?.['ref'], 'main');
    }
  });

  it('run the guard every 15 minutes in production, judging read-only and halting one version at a time', () => {
    const wf = workflows.find((w) => w.file === 'release-guard.yml');
    assert.ok(wf);
    assert.deepEqual(wf.workflow.on['schedule'], [{ cron: '*/15 * * * *' }]);
    const { judge, halt } = wf.workflow.jobs as Record<string, Job & { strategy?: Record<string, unknown> }>;
    assert.equal(environmentOf(judge!), SCHEDULED);
    assert.deepEqual(judge!.permissions, { contents: 'read', 'pull-requests': 'read' });
    assert.ok((judge!.steps ?? []).some((s) => /mngd-release guard --dry-run/.test(s.run ?? '')));
    assert.equal(halt!.uses, './.github/workflows/release-halt.yml');
    assert.equal(halt!.strategy?.['max-parallel'], 1);
  });

  it('give the pull-request check read-only permissions but for its plan comment, and full history', () => {
    const wf = workflows.find((w) => w.file === 'release-pr.yml');
    assert.ok(wf);
    assert.deepEqual(wf.workflow.permissions, { contents: 'read' });
    for (const [, job] of jobsOf(wf)) {
      assert.deepEqual(job.permissions, { contents: 'read', 'pull-requests': 'write' });
      assert.equal(environmentOf(job), undefined);
      const checkout = (job.steps ?? []).find((s) => s.uses?.startsWith('actions/checkout@'));
      assert.equal(checkout?.with?.['fetch-depth'], 0);
    }
  });

  it('set up the Node.js major that package.json engines asks for, in every workflow', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    const major = /^>=(\d+)\.\d+\.\d+$/.exec(pkg.engines.node)?.[1];
    assert.ok(major !== undefined && Number(major) >= 22, `engines.node ${pkg.engines.node}: Node 22 LTS or later`);
    let setups = 0;
    for (const wf of workflows)
      for (const [id, job] of jobsOf(wf))
        for (const step of job.steps ?? [])
          if (step.uses?.startsWith('actions/setup-node@')) {
            setups++;
            assert.equal(String(step.with?.['node-version']), major, `${wf.file} job ${id}: node-version`);
          }
    assert.ok(setups >= workflows.length, `${setups} setup-node steps in ${workflows.length} workflows`);
  });

  it('build the agent pkg with the signing secrets in one job only, in the agent-signing environment', () => {
    const wf = workflows.find((w) => w.file === 'agent-build.yml');
    assert.ok(wf);
    const jobs = jobsOf(wf);
    const withSecrets = jobs.filter(([, job]) => /secrets\./.test(JSON.stringify(job))).map(([id]) => id);
    assert.deepEqual(withSecrets, ['pkg']);
    const pkg = wf.workflow.jobs['pkg']!;
    assert.equal(environmentOf(pkg), 'agent-signing');
    assert.match(String(pkg['runs-on']), /^macos-/);
    // Each secret reaches only the step that needs it, through env.
    for (const step of pkg.steps ?? [])
      for (const [name, value] of Object.entries(step.env ?? {}))
        if (String(value).includes('secrets.'))
          assert.match(String(step.name), /certificates|Notarize/, `${name} in step "${step.name}"`);
    const script = (pkg.steps ?? []).map((s) => s.run ?? '').join('\n');
    for (const tool of [
      'lipo -create',
      '--sign "Developer ID Application"',
      '--options runtime',
      'pkgbuild',
      'productbuild',
      '--sign "Developer ID Installer"',
      'notarytool submit',
      'stapler staple',
      'mngd-release hash',
      'security delete-keychain',
    ])
      assert.ok(script.includes(tool), `agent-build.yml job pkg: no ${tool}`);
    const binaries = wf.workflow.jobs['binaries']!;
    assert.ok((binaries.steps ?? []).some((s) => s.run?.includes('npm run package')));
  });

  it('install without lifecycle scripts, then build, in every job that holds a secret (the signing key, Apple’s)', () => {
    // GITHUB_TOKEN aside: every job given one, and its permissions are checked above.
    const holdsSecret = (job: unknown) => /secrets\.(?!GITHUB_TOKEN\b)\w+/.test(JSON.stringify(job));
    const holders = workflows.flatMap((wf) =>
      jobsOf(wf)
        .filter(([, job]) => holdsSecret(job))
        .map(([id, job]) => ({ where: `${wf.file} job ${id}`, steps: (job.steps ?? []).map((st) => st.run ?? '') })),
    );
    assert.deepEqual(holders.map((h) => h.where).sort(), [
      'agent-build.yml job pkg',
      'release-guard.yml job judge',
      'release-halt.yml job halt',
      'release-pr.yml job release-pr',
      'release-publish.yml job apply',
      'release-refresh.yml job refresh',
    ]);
    for (const { where, steps } of holders) {
      const script = steps.join('\n');
      const installs = [...script.matchAll(/^npm (ci|install|i)\b.*$/gm)];
      assert.ok(installs.length > 0, `${where}: no npm ci`);
      // A dependency's install script (esbuild's, say) must never run beside a secret.
      for (const i of installs) assert.match(i[0], /--ignore-scripts/, `${where}: ${i[0]}`);
      const build = script.search(/^npm run build\b/m);
      assert.ok(
        build > (installs.at(-1)?.index ?? 0),
        `${where}: builds explicitly after installing (prepare no longer runs)`,
      );
    }
  });

  it('run the project tests in CI against a PostgreSQL service with CI=true', () => {
    const wf = workflows.find((w) => w.file === 'ci.yml');
    assert.ok(wf);
    const job = Object.values(wf.workflow.jobs)[0] as Job & { services?: Record<string, { image: string }> };
    assert.match(job.services?.['postgres']?.image ?? '', /^postgres:/);
    assert.equal(String(job.env?.['CI']), 'true');
    assert.match(String(job.env?.['TEST_DATABASE_URL']), /^postgres:\/\/.*@(127\.0\.0\.1|localhost):5432\//);
    // As root: the helper's guard tests chown folders to another user and run clients via setpriv.
    assert.ok((job.steps ?? []).some((s) => s.run === 'sudo -E env "PATH=$PATH" npm test'));
  });
});
