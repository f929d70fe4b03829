/**
 * The rollout guard (release-guard.yml) run as GitHub runs it on its schedule: the judge job
 * reads the fleet's events (the embedded PGlite here: the DATABASE_URL secret is empty) and names
 * the failing release with its evidence; the halt job calls the break-glass workflow with it,
 * run here with the inputs the call passes (halt, publish, branch and pull request); the next
 * scheduled run keeps that halt and names nothing.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../schema/keys.js';
import type { Report } from '../../schema/types.js';
import { ingestReport, migrateFleet } from '../../pipeline/fleet/ingest.js';
import { openPglite } from '../../pipeline/table/db/pglite.js';
import { runBin } from '../support/cli.js';
import { preparePgliteDir } from '../support/db.js';
import { workflowFile } from './workflows.js';
import { failedSteps, makeRunner, runJob, type JobStep } from './run-step.js';
import { addOrigin, liveVersions, policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';
import { parseOutputs } from './conditions.js';

const TOKEN = 'ghs_guardTESTtoken0123456789';

describe('release-guard.yml, run as GitHub runs it', () => {
  const key = generateSigningKey();
  let repo: ReleaseRepo;
  let origin: ReturnType<typeof addOrigin>;
  let ghDir: string;
  let judged: JobStep[];
  const live = () => liveVersions(repo);
  const originGit = (...args: string[]) => origin.git(...args);
  const runner = (inputs?: Record<string, string>) =>
    makeRunner({
      event: { schedule: '*/15 * * * *' },
      eventName: 'schedule',
      github: {
        sha: repo.git('rev-parse', 'HEAD'),
        ref: 'refs/heads/main',
        repository: 'mngd/agent-releases',
        server_url: 'https://github.com',
      },
      secrets: { MNGD_SIGNING_KEY: key.privateKeyText, GITHUB_TOKEN: TOKEN },
      env: { GH_SHIM_DIR: ghDir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      ...(inputs === undefined ? {} : { inputs }),
    });
  const judge = () => {
    repo.git('checkout', '-q', 'main'); // what actions/checkout with ref: main gives the job
    repo.git('fetch', '-q', 'origin');
    return runJob(workflowFile('release-guard.yml'), 'judge', repo.dir, runner());
  };
  const failed = failedSteps;
  const halts = (steps: readonly JobStep[]) =>
    JSON.parse(parseOutputs(steps.find((s) => s.step.id === 'guard')?.result?.output ?? '')['halts'] ?? 'null') as {
      version: string;
      channel: string;
      reason: string;
    }[];

  before(async () => {
    repo = releaseRepo();
    origin = addOrigin(repo);
    repo.write(
      'releases/policy.yaml',
      `${policyYaml({ prefix: 'https://cdn.example.test/agent/', keys: [key] })}guard:\n  window: 1h\n  min_attempts: 10\n  max_failure_rate: 0.2\n`,
    );
    repo.write(
      'releases/1.0.0.yaml',
      releaseYaml({
        version: '1.0.0',
        url: 'https://cdn.example.test/agent/1.0.0.pkg',
        sha256: 'a'.repeat(64),
        size: 1,
      }),
    );
    repo.write(
      'releases/1.0.1.yaml',
      releaseYaml({
        version: '1.0.1',
        url: 'https://cdn.example.test/agent/1.0.1.pkg',
        sha256: 'b'.repeat(64),
        size: 2,
        extra: ['rollout_percent: 30'],
      }),
    );
    repo.commit('Release 1.0.1 to 30 %');
    repo.git('push', '-q', 'origin', 'main');
    const pub = await runBin(['publish'], { cwd: repo.dir, env: { MNGD_SIGNING_KEY: key.privateKeyText } });
    assert.equal(pub.code, 0, pub.stderr);
    ghDir = mkdtempSync(join(tmpdir(), 'mngd-gh-'));
    // 12 Macs tried 1.0.1 within the hour; 4 failed (33 %).
    const dir = join(repo.dir, '.state', 'pglite');
    await preparePgliteDir(dir);
    const db = await openPglite(dir);
    try {
      await migrateFleet(db);
      const now = new Date();
      for (let n = 0; n < 12; n++) {
        const r: Report = {
          device: createHash('sha256').update(`salt/mac-${n}`).digest('hex'),
          channel: 'stable',
          current: n < 4 ? '1.0.0' : '1.0.1',
          macos: '15.1',
          hw_arch: 'arm64',
          events: [
            {
              id: `i${n}`,
              at: new Date(now.getTime() - 600_000).toISOString(),
              kind: 'install',
              from: '1.0.0',
              to: '1.0.1',
              result: n < 4 ? 'error' : 'ok',
              code: n < 4 ? 'INSTALLER_FAILED' : null,
              duration_ms: 900,
              bytes: null,
            },
          ],
        };
        await ingestReport(db, Buffer.from(JSON.stringify(r)), now);
      }
    } finally {
      await db.close();
    }
    judged = await judge();
  });

  it('judge names the failing release with its evidence, in the output and the job summary', () => {
    assert.equal(failed(judged), '');
    const h = halts(judged);
    assert.deepEqual(
      h.map((x) => [x.version, x.channel]),
      [['1.0.1', 'stable']],
    );
    assert.match(
      h[0]!.reason,
      /^guard: 4 of 12 install attempt\(s\) of 1\.0\.1 on stable failed or rolled back in the last 1h/,
    );
    assert.match(h[0]!.reason, /failure rate 33\.3 % > max_failure_rate 20\.0 %/);
    const summary = judged.find((s) => s.step.id === 'guard')?.result?.summary ?? '';
    assert.match(summary, /## Rollout guard/);
    assert.match(summary, /\*\*Would halt 1\.0\.1\*\* \(releases\/1\.0\.1\.yaml\): guard: 4 of 12/);
    assert.match(summary, /\| stable \| 1\.0\.1 \| 12 \| 4 \(INSTALLER_FAILED ×4\) \| 0 \| 33\.3 % \| HALT \|/);
    assert.equal(repo.git('status', '--porcelain', '--', 'releases'), '', 'judge writes nothing');
  });

  it('halts through the break-glass workflow: published at once, a pull request with the evidence', async () => {
    const [h] = halts(judged);
    const steps = await runJob(workflowFile('release-halt.yml'), 'halt', repo.dir, runner(h));
    assert.equal(failed(steps), '');
    assert.deepEqual(live(), ['1.0.0']);
    const file = originGit('show', 'halt-1.0.1:releases/1.0.1.yaml');
    assert.match(file, /^rollout_percent: 30$/m, 'the share stays: the guard never raises one');
    assert.match(file, /^ {2}reason: "guard: 4 of 12 install attempt\(s\)/m);
    const create = readFileSync(join(ghDir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[])
      .find((c) => c[1] === 'create')!;
    assert.match(create[create.indexOf('--body') + 1]!, /guard: 4 of 12/);
  });

  it('the next scheduled run keeps that halt and names nothing: a rerun changes nothing', async () => {
    const again = await judge();
    assert.equal(failed(again), '');
    assert.match(
      again.find((s) => s.step.name === 'Keep the halts still waiting for review')?.result?.stdout ?? '',
      /Kept the halt of halt-1\.0\.1/,
    );
    assert.deepEqual(halts(again), []);
    assert.match(again.find((s) => s.step.id === 'guard')?.result?.stdout ?? '', /nothing to halt/);
    assert.deepEqual(live(), ['1.0.0']);
  });
});
