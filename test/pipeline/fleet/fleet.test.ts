/**
 * Fleet reports: the reference ingest (validate, then store once) and `status` over what was
 * stored, on PGlite and on PostgreSQL (TEST_DATABASE_URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FloorRelease } from '../../../pipeline/fleet/supported.js';
import type { Report, ReportEvent } from '../../../schema/types.js';
import { ingestReport, migrateFleet, ReportRefusedError } from '../../../pipeline/fleet/ingest.js';
import { fleetStatus } from '../../../pipeline/fleet/status.js';
import { guardCounts } from '../../../pipeline/fleet/guard.js';
import { renderStatusMarkdown, renderStatusText, sparkline } from '../../../pipeline/fleet/status-render.js';
import { testBackends, type TestDatabase } from '../../support/db.js';
import { runBin, tempRepo } from '../../support/cli.js';
import { join } from 'node:path';

const NOW = new Date('2026-12-04T12:00:00Z');
const hours = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().replace('.000Z', 'Z');
const device = (n: number) => createHash('sha256').update(`salt/mac-${n}`).digest('hex');

function event(id: string, over: Partial<ReportEvent> = {}): ReportEvent {
  return {
    id,
    at: hours(1),
    kind: 'install',
    from: '1.0.3',
    to: '1.0.4',
    result: 'ok',
    code: null,
    duration_ms: 1200,
    bytes: null,
    ...over,
  };
}
function report(n: number, current: string, events: ReportEvent[], over: Partial<Report> = {}): Buffer {
  const r: Report = { device: device(n), channel: 'stable', current, macos: '14.6', hw_arch: 'arm64', events, ...over };
  return Buffer.from(JSON.stringify(r));
}
const count = async (t: TestDatabase, table: string) =>
  (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

// Every release satisfying the floor needs macOS 13: a Mac on macOS 12 below it is unsupported, not blocked.
const REQUIRES_13 = { requires: { macos_min: '13.0' } };
const RELEASES: FloorRelease[] = [
  {
    version: '1.0.2',
    channel: 'stable',
    active: true,
    rollout_percent: 100,
    min_required_version: '1.0.2',
    ...REQUIRES_13,
  },
  { version: '1.0.3', channel: 'stable', active: false, rollout_percent: 100 },
  { version: '1.0.4', channel: 'stable', active: true, rollout_percent: 10, ...REQUIRES_13 },
];

for (const backend of testBackends()) {
  describe(`fleet reports on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => {
      t = await backend.open();
    });
    after(async () => t?.close());

    it('stores a report once: sent again, its events are duplicates and the device row is refreshed', async () => {
      await t.reset();
      assert.deepEqual(await migrateFleet(t.db), ['fleet_001_events']);
      assert.deepEqual(await migrateFleet(t.db), [], 'idempotent');
      const bytes = report(1, '1.0.4', [event('e1'), event('e2', { kind: 'check', result: 'ok' })]);
      assert.deepEqual(await ingestReport(t.db, bytes, NOW), { stored: 2, duplicates: 0 });
      assert.deepEqual(await ingestReport(t.db, bytes, NOW), { stored: 0, duplicates: 2 });
      assert.equal(await count(t, 'agent_update_events'), 2);
      assert.equal(await count(t, 'agent_devices'), 1);
    });

    it('refuses what a broken or hostile agent sends, with the reason, and stores nothing', async () => {
      await t.reset();
      await migrateFleet(t.db);
      const cases: [string, Buffer, RegExp][] = [
        ['too big', Buffer.alloc(64 * 1024 + 1, 0x20), /over the 65536-byte limit/],
        ['not JSON', Buffer.from('{"device":'), /not JSON/],
        ['unknown field', report(1, '1.0.4', [event('e1')], { extra: 1 } as Partial<Report>), /unknown key "extra"/],
        ['raw device id', report(1, '1.0.4', [event('e1')], { device: 'C02XK1ZZJG5J' }), /\/device/],
        ['bad version', report(1, 'v1.0.4', [event('e1')]), /\/current/],
        ['far future', report(1, '1.0.4', [event('e1', { at: '2027-06-01T00:00:00Z' })]), /more than 24 h after/],
        ['id twice', report(1, '1.0.4', [event('e1'), event('e1')]), /appears twice/],
        ['bad kind', report(1, '1.0.4', [event('e1', { kind: 'reboot' as 'check' })]), /kind/],
      ];
      for (const [name, bytes, why] of cases) {
        await assert.rejects(
          ingestReport(t.db, bytes, NOW),
          (err: unknown) => err instanceof ReportRefusedError && err.code === 'REPORT_REFUSED' && why.test(err.message),
          name,
        );
      }
      assert.equal(await count(t, 'agent_update_events'), 0);
      assert.equal(await count(t, 'agent_devices'), 0);
    });

    it('status: devices, shares, offers, failures by step and code, rollbacks, blocked, stuck and unsupported', async () => {
      await t.reset();
      await migrateFleet(t.db);
      // 6 Macs on 1.0.4 (2 of them failed first), 3 on 1.0.3, 1 still on 1.0.1 (below the floor),
      // and one not seen for 10 days (not active).
      for (let n = 0; n < 6; n++) {
        const evs = [event(`i${n}`)];
        if (n < 2) evs.unshift(event(`f${n}`, { at: hours(2), result: 'error', code: 'INSTALLER_FAILED' }));
        await ingestReport(t.db, report(n, '1.0.4', evs), NOW);
      }
      await ingestReport(
        t.db,
        report(6, '1.0.3', [event('r6', { kind: 'rollback', from: '1.0.4', to: '1.0.3' })]),
        NOW,
      );
      for (const n of [7, 8]) {
        // offered 1.0.4 three days ago, still on 1.0.3: stuck
        const offered = event(`c${n}`, { kind: 'check', at: hours(72), result: 'ok' });
        await ingestReport(t.db, report(n, '1.0.3', [offered]), new Date(NOW.getTime() - 72 * 3_600_000));
        await ingestReport(t.db, report(n, '1.0.3', []), NOW);
      }
      await ingestReport(
        t.db,
        report(9, '1.0.1', [
          event('d9', { kind: 'download', result: 'error', code: 'HTTP_503', from: '1.0.1', to: '1.0.2' }),
        ]),
        NOW,
      );
      await ingestReport(t.db, report(10, '1.0.2', []), new Date(NOW.getTime() - 10 * 24 * 3_600_000));
      // below the floor on macOS 12: no release satisfying the floor runs there
      await ingestReport(t.db, report(11, '1.0.1', [], { macos: '12.7.6' }), NOW);

      const [stable] = await fleetStatus(t.db, { releases: RELEASES, channels: ['stable'], now: NOW });
      assert.deepEqual(stable, {
        channel: 'stable',
        activeDevices: 11,
        floor: '1.0.2',
        blocked: 1,
        unsupported: 1,
        versions: [
          {
            version: '1.0.4',
            devices: 6,
            share: 54.5,
            offered: 10,
            attempts: 8,
            failures: [{ kind: 'install', code: 'INSTALLER_FAILED', count: 2 }],
            rollbacks: 1,
            stuck: 2,
            unsupported: 0,
          },
          {
            version: '1.0.3',
            devices: 3,
            share: 27.3,
            offered: null,
            attempts: 0,
            failures: [],
            rollbacks: 0,
            stuck: 0,
            unsupported: 0,
          },
          {
            version: '1.0.2',
            devices: 0,
            share: 0,
            offered: 100,
            attempts: 0,
            failures: [{ kind: 'download', code: 'HTTP_503', count: 1 }],
            rollbacks: 0,
            stuck: 0,
            unsupported: 0,
          },
          {
            version: '1.0.1',
            devices: 2,
            share: 18.2,
            offered: null,
            attempts: 0,
            failures: [],
            rollbacks: 0,
            stuck: 0,
            unsupported: 1,
          },
        ],
      });
      const text = renderStatusText([stable!]);
      assert.match(text, /channel stable: 11 active device\(s\)/);
      assert.match(
        text,
        /floor: 1\.0\.2; 1 device\(s\) below it, their checkin waits for the update; 1 more unsupported \(their macOS runs no release at or above it: not blocked\)/,
      );
      assert.match(text, /version {3}devices {2}share {3}offered {2}installs .* rollbacks {2}stuck {2}unsupported\n/);
      assert.match(text, /1\.0\.4\s+6\s+54\.5%\s+10%\s+8\s+install INSTALLER_FAILED ×2\s+1\s+2\s+0\n/);
      assert.match(text, /1\.0\.1\s+2\s+18\.2%\s+no\s+0\s+-\s+0\s+0\s+1\n/);
      const md = renderStatusMarkdown([stable!]);
      assert.match(
        md,
        /```mermaid\nxychart-beta\n {2}title "Devices per version \(stable\)"\n {2}x-axis \["1\.0\.1", "1\.0\.2", "1\.0\.3", "1\.0\.4"\]/,
      );
      assert.match(md, /\| 1\.0\.4 \| 6 \| 54\.5% \| 10% \| 8 \| install INSTALLER_FAILED ×2 \| 1 \| 2 \| 0 \|/);
      assert.match(md, /\| 1\.0\.1 \| 2 \| 18\.2% \| no \| 0 \| - \| 0 \| 0 \| 1 \|/);
    });

    it('a failed rollback counts once against N, as a rollback and a failure, until the rollback itself (or a takeover that landed) supersedes it', async () => {
      await t.reset();
      await migrateFleet(t.db);
      const failed = (n: number) =>
        event(`rollback-failed_${n}`, {
          kind: 'rollback',
          from: '1.0.4',
          to: '1.0.3',
          result: 'error',
          code: 'ROLLBACK_FAILED',
          at: hours(2),
        });
      // Mac 1: stuck on 1.0.4 (its helper retries). Mac 2: failed, then rolled back (two reports).
      await ingestReport(t.db, report(1, '1.0.4', [failed(1)]), NOW);
      await ingestReport(t.db, report(2, '1.0.4', [failed(2)]), NOW);
      const done = event('rollback-1_0_4', { kind: 'rollback', from: '1.0.4', to: '1.0.3', code: 'HEALTH_DEADLINE' });
      await ingestReport(t.db, report(2, '1.0.3', [done]), NOW);
      // Mac 3: failed, then an install of 1.0.5 took the due rollback over and landed: off 1.0.4, not stuck.
      await ingestReport(t.db, report(3, '1.0.4', [failed(3)]), NOW);
      const over = event('rollback-1_0_4', {
        kind: 'rollback',
        from: '1.0.4',
        to: '1.0.5',
        code: 'ROLLBACK_TAKEN_OVER',
      });
      await ingestReport(t.db, report(3, '1.0.5', [over]), NOW);
      const [stable] = await fleetStatus(t.db, { releases: RELEASES, channels: ['stable'], now: NOW });
      const v104 = stable!.versions.find((v) => v.version === '1.0.4');
      assert.equal(v104?.rollbacks, 3, 'one per Mac (1.0.4 failed its gate on each), not five');
      assert.deepEqual(
        v104?.failures,
        [{ kind: 'rollback', code: 'ROLLBACK_FAILED', count: 1 }],
        'the Mac still on 1.0.4',
      );
      const guard = (await guardCounts(t.db, new Date(NOW.getTime() - 6 * 3_600_000))).find(
        (c) => c.version === '1.0.4',
      );
      assert.equal(guard?.rollbacks, 3);
      assert.equal(guard?.errors, 0, 'not an install error');
    });
  });
}

describe('sparkline', () => {
  it('draws one bar per version scaled to the largest', () => {
    assert.equal(sparkline([0, 50, 100]), '▁▅█');
    assert.equal(sparkline([]), '');
  });
});

describe('mngd-release status', () => {
  it('prints each channel of the policy, creating the fleet tables on an empty database', async () => {
    const repo = tempRepo();
    const r = await runBin(['status'], { cwd: repo.root, env: { MNGD_STATE_DIR: join(repo.root, '.state') } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^channel stable: 0 active device\(s\) \(seen within 7 days\)/m);
    assert.match(r.stdout, /version {3}devices {2}share {3}offered/);
    const j = await runBin(['status', '--json', '--channel', 'stable'], {
      cwd: repo.root,
      env: { MNGD_STATE_DIR: join(repo.root, '.state') },
    });
    assert.equal(j.code, 0, j.stderr);
    const out = JSON.parse(j.stdout) as { channels: { channel: string; activeDevices: number }[] };
    assert.deepEqual(
      out.channels.map((c) => [c.channel, c.activeDevices]),
      [['stable', 0]],
    );
  });
});
