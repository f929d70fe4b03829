/**
 * The plan shows time: golden text and Markdown for releases with schedules (one ramping, one
 * paused, one not started, a ring), and `plan` through the CLI with n/a until the fleet reports,
 * then the expected devices from the same database.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { computePlan } from '../../../pipeline/table/plan.js';
import { renderPlanMarkdown, renderPlanText } from '../../../pipeline/table/plan-render.js';
import { scheduleSection, untilText } from '../../../pipeline/table/schedule-section.js';
import { ingestReport, migrateFleet } from '../../../pipeline/fleet/ingest.js';
import { FIXTURES, runRelease, tempRepo } from '../../support/cli.js';
import { cliDatabase } from '../../support/cli-db.js';

const GOLDEN = join(FIXTURES, 'plan-schedule');
const NOW = new Date('2026-12-08T15:00:00Z');
const RAMP = `rollout_schedule:
  start: "2026-12-07T09:00:00Z"
  steps:
    - { percent: 1, hold: 24h }
    - { percent: 10, hold: 48h }
    - { percent: 50, hold: 7d }
    - { percent: 100 }
`;

function release(version: string, c: string, extra: string): string {
  return `version: "${version}"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-${version}.pkg\nsha256: ${c.repeat(64)}\nsize: 2000\n${extra}`;
}

/** 1.0.4 ramping with a ring, 1.0.5 on beta paused, 1.1.0 not started yet. */
function scheduledRepo(): string {
  const { root, releases } = tempRepo();
  const policy = readFileSync(join(releases, 'policy.yaml'), 'utf8');
  writeFileSync(
    join(releases, 'policy.yaml'),
    `${policy}rings:\n  canary:\n    device_ids_file: rings/canary.txt\nring_salt: "${'5a17'.repeat(8)}"\n`,
  );
  mkdirSync(join(root, 'rings'));
  writeFileSync(join(root, 'rings', 'canary.txt'), '# IT desk\nmac-it-1\nmac-it-2\nmac-it-3\n');
  writeFileSync(join(releases, '1.0.4.yaml'), release('1.0.4', 'b', `${RAMP}rings: [canary]\n`));
  writeFileSync(
    join(releases, '1.0.5.yaml'),
    release(
      '1.0.5',
      'c',
      `channel: beta\n${RAMP.replace(/\n$/, '\n  paused_at: "2026-12-07T20:30:00Z"\n').replace('09:00:00Z', '08:00:00Z')}`,
    ),
  );
  writeFileSync(
    join(releases, '1.1.0.yaml'),
    release('1.1.0', 'd', RAMP.replace('2026-12-07T09:00:00Z', '2026-12-09T09:30:00Z')),
  );
  return root;
}

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env['MNGD_UPDATE_GOLDEN'] === '1') writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `${name} differs (MNGD_UPDATE_GOLDEN=1 rewrites it)`);
}

describe('plan: rollout schedules as a timeline', () => {
  it('golden text and Markdown: steps in UTC, share, expected devices, the step in force, the next, a Mermaid chart', async () => {
    const root = scheduledRepo();
    const set = await loadReleaseSet(root, { now: NOW });
    assert.deepEqual(set.problems, []);
    const plan = computePlan({ releases: set.releases, rows: [], channels: set.policy!.channels });
    const section = scheduleSection({
      releases: set.releases.map((r) => r.release),
      now: NOW,
      activeDevices: new Map([
        ['stable', 18_000],
        ['beta', 420],
      ]),
      ringSizes: { canary: set.rings['canary']!.length },
    });
    plan.sections.push(section!);
    golden('plan.txt', renderPlanText(plan, { target: 'postgres://deploy@db.internal/mngd' }));
    golden('plan.md', renderPlanMarkdown(plan, { target: 'postgres://deploy@db.internal/mngd' }));
  });

  it('says n/a for devices until the fleet reports, and when no release has a schedule, nothing', async () => {
    const set = await loadReleaseSet(scheduledRepo(), { now: NOW });
    const releases = set.releases.map((r) => r.release);
    const s = scheduleSection({ releases, now: NOW, activeDevices: null })!;
    assert.ok(
      s.lines.some((l) => /^> 2 +2026-12-08T09:00:00Z +10 % +n\/a +in force now$/.test(l)),
      s.lines.join('\n'),
    );
    assert.equal(
      scheduleSection({ releases: releases.filter((r) => !r.rollout_schedule), now: NOW, activeDevices: null }),
      null,
    );
    assert.deepEqual([60_000, 45 * 60_000, 26 * 3_600_000, 42 * 3_600_000 + 60_000].map(untilText), [
      '1m',
      '45m',
      '1d 2h',
      '1d 18h',
    ]);
  });

  it('plan through the CLI: n/a without reports, then the expected devices from the fleet in the same database', async () => {
    const root = scheduledRepo();
    const state = join(root, '.state');
    const db = await cliDatabase(state);
    try {
      const env = { MNGD_STATE_DIR: state, ...db.env };
      const before = await runRelease(['plan', '--skip-manifests'], { cwd: root, env, now: NOW });
      assert.equal(before.code, 0, before.stderr);
      assert.match(before.stdout, /Rollout schedules \(UTC; now 2026-12-08T15:00:00Z\):/);
      assert.match(before.stdout, /> 2 +2026-12-08T09:00:00Z +10 % +n\/a +in force now/);
      assert.match(before.stdout, /\+ 1\.0\.4 +stable 10%, legacy active=false/);
      await db.use(async (d) => {
        await migrateFleet(d);
        for (let n = 0; n < 40; n++) {
          const device = createHash('sha256').update(`x/mac-${n}`).digest('hex');
          const report = { device, channel: 'stable', current: '1.0.0', macos: '14.6', hw_arch: 'arm64', events: [] };
          await ingestReport(d, Buffer.from(JSON.stringify(report)), NOW);
        }
      });
      const after = await runRelease(['plan', '--skip-manifests'], { cwd: root, env, now: NOW });
      assert.match(after.stdout, /> 2 +2026-12-08T09:00:00Z +10 % +4 +in force now/);
      assert.match(after.stdout, / 4 +2026-12-17T09:00:00Z +100 % +40\b/);
    } finally {
      await db.close();
    }
  });
});
