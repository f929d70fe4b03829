import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type { DriftFinding } from '../../../pipeline/drift/check.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const T0 = new Date('2026-12-04T17:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe('drift names a live halt that git does not have yet', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let env: Record<string, string>;
  const manifestsDrift = async (now: Date) => {
    const run = await repo.run(['drift', '--only', 'manifests', '--json'], env, now);
    return { code: run.code, findings: (JSON.parse(run.stdout) as { findings: DriftFinding[] }).findings };
  };

  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key] });
    env = { MNGD_SIGNING_KEY: key.private };
    await repo.writeRelease({ version: '1.0.1' });
    await repo.writeRelease({ version: '1.0.2', rollout_percent: 10 });
    assert.equal((await repo.run(['publish'], env, T0)).code, 0);
  });
  after(() => repo.close());

  it('a new release git has but no publish has carried yet is drift, but not a halt', async () => {
    await repo.writeRelease({ version: '1.0.3', rollout_percent: 5 });
    const { code, findings } = await manifestsDrift(at(1));
    assert.equal(code, 1);
    assert.deepEqual(
      findings.filter((f) => f.code === 'MANIFEST_LIVE_HALT'),
      [],
    );
    assert.ok(findings.some((f) => f.code === 'MANIFEST_DIFFERS'));
    assert.equal((await repo.run(['publish'], env, at(2))).code, 0);
  });

  it('after the break-glass publish of a halt, with git still offering the release: names it and the fix', async () => {
    // What release-halt.yml does on its runner: halt, publish; main does not have the change yet.
    const file = `${repo.releases}/1.0.2.yaml`;
    const main = await readFile(file, 'utf8');
    const halt = await repo.run(['halt', '1.0.2', '--reason', 'crashes on launch'], env, at(10));
    assert.equal(halt.code, 0, halt.stderr);
    assert.equal((await repo.run(['publish'], env, at(10))).code, 0);
    await writeFile(file, main);

    const { code, findings } = await manifestsDrift(at(11));
    assert.equal(code, 1);
    const halts = findings.filter((f) => f.code === 'MANIFEST_LIVE_HALT');
    assert.deepEqual(
      halts.map((f) => [f.subject, f.severity]),
      [
        ['manifest stable (latest.json)', 'error'],
        ['manifest beta (channels/beta/latest.json)', 'error'],
      ],
    );
    assert.match(halts[0]!.message, /^1\.0\.2 is halted live but not in git/);
    assert.match(
      halts[0]!.details[0]!,
      /release-halt workflow: merge its pull request \(branch halt-1\.0\.2\) before anything publishes main/,
    );

    const text = await repo.run(['drift', '--only', 'manifests'], env, at(11));
    assert.match(
      text.stdout,
      /Fix: if a halt-<version> pull request is open for 1\.0\.2, merge it first \(never publish before\); otherwise "mngd-release publish"/,
    );

    // Once git has the halt (the pull request merged), nothing is left to name.
    await writeFile(file, `${main}halted:\n  reason: "crashes on launch"\n  at: "2026-12-04T17:10:00Z"\n`);
    const merged = await manifestsDrift(at(12));
    assert.deepEqual(merged.findings, []);
    assert.equal(merged.code, 0);
  });
});
