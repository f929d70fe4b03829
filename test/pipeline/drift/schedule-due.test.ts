/**
 * A rollout step that falls due between two applies: drift names it as a warning (not drift), the
 * scheduled refresh (apply --refresh) writes it to the table and spec 1, and a refresh with
 * nothing due writes nothing. A hand edit that goes beyond the schedule is still drift.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriftFinding } from '../../../pipeline/drift/check.js';
import { cliDatabase, type CliDatabase } from '../../support/cli-db.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const START = Date.parse('2026-12-07T09:00:00Z');
const H = 3_600_000;
const at = (h: number) => new Date(START + h * H);
const RAMP = `rollout_schedule:
  start: "2026-12-07T09:00:00Z"
  steps:
    - { percent: 1, hold: 24h }
    - { percent: 10, hold: 48h }
    - { percent: 100 }
`;

describe('a rollout step due between two applies', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let db: CliDatabase;
  let env: Record<string, string>;
  let bucket: string;
  const drift = async (h: number) => {
    const run = await repo.run(['drift', '--json'], env, at(h));
    return { code: run.code, findings: (JSON.parse(run.stdout) as { findings: DriftFinding[] }).findings };
  };
  const share = async () => {
    const m = JSON.parse(await readFile(join(bucket, 'latest.json'), 'utf8')) as {
      signed: { sequence: number; releases: { version: string; rollout_percent: number }[] };
    };
    return {
      sequence: m.signed.sequence,
      share: m.signed.releases.find((r) => r.version === '1.0.4')?.rollout_percent,
    };
  };
  const tableShare = () =>
    db.use(async (d) => {
      const { rows } = await d.query<{ rollout_percent: number; active: boolean }>(
        "SELECT rollout_percent, active FROM agent_releases WHERE version = '1.0.4'",
      );
      return rows[0];
    });

  /** apply --refresh's writing steps (its package check needs a CDN: test/pipeline/cli/apply.test.ts). */
  const refresh = async (h: number): Promise<string[]> => {
    const out: string[] = [];
    for (const cmd of [['sync'], ['publish', '--refresh']]) {
      const r = await repo.run(cmd, env, at(h));
      assert.equal(r.code, 0, r.stderr + r.stdout);
      out.push(r.stdout);
    }
    return out;
  };

  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key] });
    await repo.writeRelease({ version: '1.0.0' });
    await repo.writeRelease({ version: '1.0.4', extra: RAMP });
    const state = join(repo.root, '.state');
    bucket = join(state, 'bucket');
    db = await cliDatabase(state);
    env = { ...db.env, MNGD_SIGNING_KEY: key.private };
    for (const cmd of ['sync', 'publish']) {
      const r = await repo.run([cmd], env, at(2));
      assert.equal(r.code, 0, r.stderr + r.stdout);
    }
  });
  after(async () => {
    await db.close();
    await repo.close();
  });

  it('drift names a step due since the last apply as a warning, for the table and the manifest, and exits 0', async () => {
    assert.deepEqual(await drift(3), { code: 0, findings: [] });
    const { code, findings } = await drift(30);
    assert.equal(code, 0, JSON.stringify(findings));
    assert.deepEqual(
      findings.map((f) => [f.code, f.severity, f.subject]),
      [
        ['SCHEDULE_STEP_DUE', 'warning', 'table 1.0.4'],
        ['SCHEDULE_STEP_DUE', 'warning', 'manifest stable (latest.json)'],
        ['SCHEDULE_STEP_DUE', 'warning', 'manifest beta (channels/beta/latest.json)'],
      ],
    );
    assert.match(findings[0]!.message, /schedule is at 10 % since 2026-12-08T09:00:00Z; the table still has 1 %/);
    assert.deepEqual(findings[1]!.details, ['1.0.4: its schedule is at 10 % since 2026-12-08T09:00:00Z']);
    // at 100 %, spec 2 stops listing 1.0.0 (its steps are absolute, its listing is not): due, not drift
    const full = await drift(80);
    assert.equal(full.code, 0, JSON.stringify(full.findings));
    assert.ok(full.findings.every((f) => f.code === 'SCHEDULE_STEP_DUE'));
    assert.ok(
      full.findings.some((f) => f.subject === 'manifest stable (v2/latest.json)'),
      JSON.stringify(full.findings),
    );
  });

  it('a hand edit beyond the schedule is still drift (an error)', async () => {
    await db.use((d) => d.query("UPDATE agent_releases SET rollout_percent = 50 WHERE version = '1.0.4'"));
    const { code, findings } = await drift(30);
    assert.equal(code, 1);
    assert.ok(
      findings.some(
        (f) => f.code === 'TABLE_ROW_DIFFERS' && f.details.includes('rollout_percent: git says 10, the table says 50'),
      ),
    );
    await db.use((d) => d.query("UPDATE agent_releases SET rollout_percent = 1 WHERE version = '1.0.4'"));
  });

  it('the scheduled refresh writes the due step to the table and spec 1; run again with nothing due, it writes nothing', async () => {
    const before = await share();
    assert.equal(before.share, 1);
    await refresh(30);
    const after = await share();
    assert.equal(after.share, 10);
    assert.ok(after.sequence > before.sequence);
    assert.deepEqual(await tableShare(), { rollout_percent: 10, active: false });
    assert.deepEqual(await drift(31), { code: 0, findings: [] });

    const [sync, publish] = await refresh(31);
    assert.deepEqual(await share(), after, 'nothing due: nothing published');
    assert.match(sync, /no change/);
    assert.match(publish, /stable: unchanged/);

    await refresh(80);
    assert.equal((await share()).share, 100);
    assert.deepEqual(await tableShare(), { rollout_percent: 100, active: true });
  });
});
