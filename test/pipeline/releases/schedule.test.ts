/**
 * rollout_schedule in a release file: pause freezes the share in force, rollout --schedule writes
 * a ramp, rollout <percent> replaces it, and spec 1 and the table get the share at publish and
 * plan time. In-process with a chosen clock; real files, a real directory bucket.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { rowOf } from '../../../pipeline/table/release-row.js';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { runRelease, tempRepo } from '../../support/cli.js';
import { makeReleaseRepo, testKey } from '../../support/publish-repo.js';

const HEAD = `# 1.0.4: the menubar fix
version: "1.0.4"
download_url: https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg
sha256: ${'b'.repeat(64)}
size: 2000
`;
const RAMP = `rollout_schedule:
  start: "2026-12-07T09:00:00Z"
  steps:
    - { percent: 1, hold: 24h }
    - { percent: 10, hold: 48h }
    - { percent: 50, hold: 7d }
    - { percent: 100 }
`;
const H = 3_600_000;
const START = Date.parse('2026-12-07T09:00:00Z');
const at = (hours: number) => new Date(START + hours * H);

function repoWith(text: string): { root: string; file: string } {
  const { root, releases } = tempRepo();
  const file = join(releases, '1.0.4.yaml');
  writeFileSync(file, text);
  return { root, file };
}

async function shareAtLoad(root: string, now: Date): Promise<{ percent: number; legacy: boolean }> {
  const set = await loadReleaseSet(root, { now });
  assert.deepEqual(set.problems, []);
  const r = set.releases.find((x) => x.release.version === '1.0.4')!.release;
  const row = rowOf(r);
  return { percent: row.rollout_percent, legacy: row.active };
}

describe('rollout_schedule: edits, and the share at publish and plan time', () => {
  it('the table row carries the share in force when the plan or sync runs; legacy active only at 100', async () => {
    const { root } = repoWith(HEAD + RAMP);
    assert.deepEqual(await shareAtLoad(root, at(-1)), { percent: 0, legacy: false });
    assert.deepEqual(await shareAtLoad(root, at(0)), { percent: 1, legacy: false });
    assert.deepEqual(await shareAtLoad(root, at(30)), { percent: 10, legacy: false });
    assert.deepEqual(await shareAtLoad(root, at(72)), { percent: 50, legacy: false });
    assert.deepEqual(await shareAtLoad(root, at(72 + 7 * 24)), { percent: 100, legacy: true });
  });

  it('pause writes paused_at inside the schedule, and the share in force then holds for ever', async () => {
    const { root, file } = repoWith(HEAD + RAMP + 'channel: stable # the last line\n');
    const r = await runRelease(['pause', '1.0.4'], { cwd: root, now: at(30) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /paused at 2026-12-08T15:00:00Z: holds step 2 of 4: 10 % since 2026-12-08T09:00:00Z/);
    assert.equal(
      readFileSync(file, 'utf8'),
      HEAD +
        RAMP.replace('    - { percent: 100 }\n', '    - { percent: 100 }\n  paused_at: "2026-12-08T15:00:00Z"\n') +
        'channel: stable # the last line\n',
    );
    for (const h of [30, 48, 100, 24 * 365]) assert.equal((await shareAtLoad(root, at(h))).percent, 10, `at +${h} h`);
    const again = await runRelease(['pause', '1.0.4'], { cwd: root, now: at(40) });
    assert.match(again.stdout, /already paused since 2026-12-08T15:00:00Z: nothing to change/);
  });

  it('a pause before the start is a share of 0 for good (a hard stop, like rollout_percent: 0)', async () => {
    const { root } = repoWith(HEAD + RAMP);
    const r = await runRelease(['pause', '1.0.4', '--json'], { cwd: root, now: at(-5) });
    assert.equal(r.code, 0, r.stderr);
    assert.match((JSON.parse(r.stdout) as { change: string }).change, /had not started.*share of 0 for good/);
    for (const h of [-5, 0, 1000]) assert.equal((await shareAtLoad(root, at(h))).percent, 0);
  });

  it('rollout --schedule replaces rollout_percent with a schedule block, in place; validate accepts it', async () => {
    const { root, file } = repoWith(`${HEAD}rollout_percent: 5   # from PR #41\nchannel: stable\n`);
    const r = await runRelease(
      ['rollout', '1.0.4', '--schedule', '1:24h,10:48h,50:7d,100', '--start', '2026-12-07T09:00:00Z'],
      { cwd: root, now: at(-2) },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(file, 'utf8'), `${HEAD}${RAMP}channel: stable\n`);
    assert.match(
      r.stdout,
      /rollout_percent: 5 -> rollout_schedule 1 % → 10 % → 50 % → 100 % from 2026-12-07T09:00:00Z/,
    );
    assert.match(r.stdout, /lowers the share now 5% -> 0%: a safety change/);
    assert.match(r.stdout, /git switch -c rollout-1\.0\.4-schedule/);
    assert.equal((await runRelease(['validate'], { cwd: root, now: at(-2) })).code, 0);
  });

  it('rollout --schedule resumes a paused ramp; rollout <percent> replaces the schedule with a fixed share', async () => {
    const { root, file } = repoWith(HEAD + RAMP.replace(/\n$/, '\n  paused_at: "2026-12-08T15:00:00Z"\n'));
    const resumed = await runRelease(['rollout', '1.0.4', '--schedule', '10:24h,100'], { cwd: root, now: at(100) });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      readFileSync(file, 'utf8'),
      /start: "2026-12-11T13:00:00Z"\n {2}steps:\n {4}- \{ percent: 10, hold: 24h \}\n/,
    );
    assert.doesNotMatch(readFileSync(file, 'utf8'), /paused_at/);
    assert.equal((await shareAtLoad(root, at(100 + 24))).percent, 100);
    const fixed = await runRelease(['rollout', '1.0.4', '50'], { cwd: root, now: at(101) });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(readFileSync(file, 'utf8'), `${HEAD}rollout_percent: 50\n`);
    assert.match(
      fixed.stdout,
      /rollout_schedule \(10 % → 100 % from 2026-12-11T13:00:00Z, 10 % now\) -> rollout_percent: 50/,
    );
  });

  it('refuses a --schedule that is not PERCENT:HOLD,...,100 (exit 2) and one that breaks a rule (exit 1), writing nothing', async () => {
    const { root, file } = repoWith(HEAD);
    for (const bad of ['10:1w,100', '10,100', 'ten:24h,100']) {
      const r = await runRelease(['rollout', '1.0.4', '--schedule', bad], { cwd: root, now: at(0) });
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /expected e\.g\. 1:24h,10:48h,50:7d,100/);
    }
    const r = await runRelease(['rollout', '1.0.4', '--schedule', '50:24h,10:24h,100'], { cwd: root, now: at(0) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /releases\/1\.0\.4\.yaml:\d+:\d+: error RELEASE_SCHEDULE_ORDER: .*raise it above 50/);
    assert.match(r.stderr, /Nothing written/);
    assert.equal(readFileSync(file, 'utf8'), HEAD);
  });

  it('spec 1 carries the share in force at publish time; a publish after a step is due changes it', async () => {
    const key = testKey();
    const repo = await makeReleaseRepo({ trusted: [key] });
    try {
      await repo.writeRelease({ version: '1.0.0' });
      await repo.writeRelease({ version: '1.0.4', extra: RAMP });
      const bucket = join(repo.root, '.state', 'bucket');
      const share = (now: Date) => {
        const m = verifyManifest(readFileSync(join(bucket, 'latest.json')), {
          trustedKeys: [publicKeyFromBase64(key.public_key)],
          channel: 'stable',
          now,
        });
        return m.signed.releases.map((r) => `${r.version}:${r.rollout_percent}`).join(' ');
      };
      for (const [h, want] of [
        [-1, '1.0.4:0 1.0.0:100'],
        [30, '1.0.4:10 1.0.0:100'],
        [300, '1.0.4:100'],
      ] as const) {
        const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, at(h));
        assert.equal(run.code, 0, run.stderr);
        assert.equal(share(at(h)), want, `published at +${h} h`);
      }
    } finally {
      await repo.close();
    }
  });
});
