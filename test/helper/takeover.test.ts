/**
 * An install that takes a due rollback over (N = 1.0.4 failed its gate, its rollback to P = 1.0.3
 * failed once and waits; 1.0.5 is asked for), with the real helper, killed with kill -9 while the
 * takeover's installer (the stand-in, held) still runs; it runs on, detached, and the helper is
 * started again on the same folders, as launchd does. The restarted helper must still know that
 * P is due if 1.0.5 does not land, never run a rollback beside that installer, and, once 1.0.5 has
 * landed, tell the fleet that the Mac is no longer stuck on 1.0.4.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sendHealth } from '../../helper/client.js';
import { ingestReport, migrateFleet } from '../../pipeline/fleet/ingest.js';
import { fleetStatus } from '../../pipeline/fleet/status.js';
import { guardCounts } from '../../pipeline/fleet/guard.js';
import type { Report, ReportEvent } from '../../schema/types.js';
import { openTestDatabase } from '../support/db.js';
import { isAlive, startHelper, until, newKey } from './harness.js';
import { macOn103 as macOn103With, type GateMac } from './gate-mac.js';

const key = newKey();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const SLOW = ['--installer-timeout', '120'];

/**
 * A Mac on 1.0.4 whose rollback to 1.0.3 failed once and waits (5 s), then the install of 1.0.5
 * asked for meanwhile, its installer held, and the helper killed (kill -9) while it runs.
 */
async function killedDuringTakeover(): Promise<{
  mac: GateMac;
  hold: string;
  restart: (retry: string) => Promise<void>;
}> {
  const hold = join(mkdtempSync(join(tmpdir(), 'mngd-hold-')), 'hold');
  cleanup.push(async () => rmSync(hold, { force: true }));
  // The held installer must not reach its deadline (a restarted helper kills it then): a slow machine.
  const mac = await macOn103With(key, cleanup, ['--health-deadline', '2', '--rollback-retry', '5', ...SLOW], {
    STANDIN_HOLD_FILE: hold,
  });
  assert.equal((await mac.install('1.0.4')).ok, true);
  mac.helper.setMode('fail');
  await until('the first failure', () => mac.log().includes('attempt 1 failed'), 30_000);
  writeFileSync(hold, '');
  const asked = mac.install('1.0.5').catch(() => undefined); // the connection dies with the helper
  await until("the takeover's installer", () => mac.helper.invocations().length === 4, 30_000);
  const p = mac.pending();
  assert.deepEqual(
    [p?.['from'], p?.['to'], p?.['rolling_back']],
    ['1.0.3', '1.0.5', undefined],
    'the takeover keeps P as its from',
  );
  const over = p?.['took_over'] as Record<string, unknown> | undefined;
  assert.deepEqual(
    [over?.['from'], over?.['to'], over?.['rolling_back'], over?.['cause']],
    ['1.0.3', '1.0.4', 'no health_ok within 2 s', 'HEALTH_DEADLINE'],
    'the due rollback it took over, durably before its installer runs',
  );
  mac.helper.proc.kill('SIGKILL');
  await mac.helper.exited;
  await asked;
  const restart = async (retry: string) => {
    mac.helper = await startHelper({
      key,
      dir: mac.helper.dir,
      extraArgs: ['--health-deadline', '2', '--rollback-retry', retry, ...SLOW],
      env: { STANDIN_HOLD_FILE: hold },
    });
  };
  return { mac, hold, restart };
}

const events = (mac: GateMac) =>
  ((mac.outbox()?.events ?? []) as unknown as ReportEvent[]).map((e) => [e.id, e.from, e.to, e.result, e.code]);

describe('a helper killed during an install that took a due rollback over', () => {
  it('that install does not land: the restarted helper waits for its installer to end, then puts P back', async () => {
    const { mac, hold, restart } = await killedDuringTakeover();
    await restart('1');
    // The earlier helper's installer still runs: nothing is decided, nothing installed beside it.
    await until('the wait', () => mac.log().includes('once that installer has ended'), 30_000);
    assert.match(
      mac.log(),
      /WARN .*SelfUpdate: helper decides the rollback 1\.0\.4 -> 1\.0\.3 that the install of 1\.0\.5 took over once that installer has ended: an installer started by an earlier helper \(pid \d+/,
    );
    assert.equal(mac.helper.invocations().length, 4);
    assert.equal((mac.pending()?.['took_over'] as Record<string, unknown> | undefined)?.['to'], '1.0.4');
    // N's word counts for nothing meanwhile: its rollback may still be due.
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
    assert.equal(ok.ok && ok.pending, false, JSON.stringify(ok));
    // The held installer fails (its first run in this mode); the rollback's run after it succeeds.
    mac.helper.setMode('fail-first 1');
    rmSync(hold);
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(
      mac.log(),
      /WARN .*SelfUpdate: helper resumes the rollback 1\.0\.4 -> 1\.0\.3 that the install of 1\.0\.5 took over: it did not complete \(1\.0\.4 is installed\)/,
    );
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null);
    assert.equal(mac.helper.invocations().length, 5, '1.0.3, 1.0.4, the failed rollback, 1.0.5 (killed helper), 1.0.3');
    assert.equal(existsSync(`${mac.helper.record}.overlap`), false, 'never two installer runs at once');
    assert.deepEqual(events(mac), [
      ['rollback-failed_1_0_4', '1.0.4', '1.0.3', 'error', 'ROLLBACK_FAILED'],
      ['rollback-1_0_4', '1.0.4', '1.0.3', 'ok', 'HEALTH_DEADLINE'],
    ]);
  });

  it('that install lands: 1.0.5 is pending over P, and the fleet no longer counts the Mac stuck on 1.0.4', async () => {
    const { mac, hold, restart } = await killedDuringTakeover();
    // The orphaned installer lands 1.0.5 before the helper is back.
    mac.helper.setMode('succeed');
    rmSync(hold);
    await until('1.0.5 installed', () => mac.helper.installedVersion() === '1.0.5', 30_000);
    await until('the installer ended', () => !existsSync(`${mac.helper.record}.running`), 30_000);
    await restart('600');
    const p = mac.pending();
    assert.deepEqual(
      [p?.['from'], p?.['to'], p?.['took_over'], p?.['rolling_back']],
      ['1.0.3', '1.0.5', undefined, undefined],
      'an ordinary pending record: 1.0.3 stays the one to go back to',
    );
    assert.match(
      mac.log(),
      /INFO .*SelfUpdate: 1\.0\.4 is no longer installed: the install of 1\.0\.5 took its rollback to 1\.0\.3 over/,
    );
    assert.deepEqual(events(mac), [
      ['rollback-failed_1_0_4', '1.0.4', '1.0.3', 'error', 'ROLLBACK_FAILED'],
      ['rollback-1_0_4', '1.0.4', '1.0.5', 'ok', 'ROLLBACK_TAKEN_OVER'],
    ]);
    const started = await sendHealth(mac.helper.socket, 'started', '1.0.5');
    assert.equal(started.ok && started.pending, true, JSON.stringify(started));
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.5');
    assert.equal(ok.ok && ok.pending, false, JSON.stringify(ok));
    assert.match(mac.log(), /SelfUpdate: health ok 1\.0\.5\n/);
    assert.equal(mac.helper.installedVersion(), '1.0.5');
    assert.equal(mac.helper.invocations().length, 4, 'no rollback ran');

    // What the 1.0.5 agent reports of these outcomes, as the fleet stores and counts it.
    const t = await openTestDatabase();
    cleanup.push(() => t.close());
    await migrateFleet(t.db);
    const now = new Date();
    const report: Report = {
      device: createHash('sha256').update('salt/takeover-mac').digest('hex'),
      channel: 'stable',
      current: '1.0.5',
      macos: '14.6',
      hw_arch: 'arm64',
      events: (mac.outbox()?.events ?? []) as unknown as ReportEvent[],
    };
    await ingestReport(t.db, Buffer.from(JSON.stringify(report)), now);
    const releases = ['1.0.3', '1.0.4', '1.0.5'].map((version) => ({
      version,
      channel: 'stable',
      active: true,
      rollout_percent: 100,
    }));
    const [stable] = await fleetStatus(t.db, { releases, channels: ['stable'], now });
    const v104 = stable!.versions.find((v) => v.version === '1.0.4');
    assert.deepEqual(v104?.failures, [], 'not stuck on 1.0.4 (no ROLLBACK_FAILED)');
    assert.equal(v104?.rollbacks, 1, '1.0.4 failed its gate on this Mac: one rollback, once');
    const guard = (await guardCounts(t.db, new Date(now.getTime() - 3_600_000))).find((c) => c.version === '1.0.4');
    assert.equal(guard?.rollbacks, 1);
  });

  it("that install lands while the restarted helper waits: 1.0.5's own start decides it", async () => {
    const { mac, hold, restart } = await killedDuringTakeover();
    await restart('600'); // no second look for minutes: the agent's start is what decides it
    await until('the wait', () => mac.log().includes('once that installer has ended'), 30_000);
    mac.helper.setMode('succeed');
    rmSync(hold);
    await until('1.0.5 installed', () => mac.helper.installedVersion() === '1.0.5', 30_000);
    const started = await sendHealth(mac.helper.socket, 'started', '1.0.5');
    assert.equal(
      started.ok && started.pending,
      true,
      `1.0.5's agent is told to send health_ok: ${JSON.stringify(started)}`,
    );
    assert.deepEqual(
      [mac.pending()?.['from'], mac.pending()?.['to'], mac.pending()?.['took_over']],
      ['1.0.3', '1.0.5', undefined],
    );
    assert.deepEqual(events(mac).at(-1), ['rollback-1_0_4', '1.0.4', '1.0.5', 'ok', 'ROLLBACK_TAKEN_OVER']);
  });

  it("deciding it at an install fails (pending.json cannot be written): the install is refused and N's rollback stays due", async () => {
    const { mac, hold, restart } = await killedDuringTakeover();
    await restart('600'); // no second look for minutes: the install decides it
    await until('the wait', () => mac.log().includes('once that installer has ended'), 30_000);
    mac.helper.setMode('fail'); // 1.0.5 does not land: 1.0.4's rollback to 1.0.3 is due
    rmSync(hold);
    const pid = mac.helper.spans().at(-1)?.slice('start '.length); // the held run, still running
    await until(
      'the installer ended',
      () => mac.helper.spans().includes(`end ${pid}`) && !isAlive(Number(pid)),
      30_000,
    );
    // A write of pending.json fails (as on a full disk): a folder stands in its place.
    const file = join(mac.helper.dir, 'state', 'pending.json');
    rmSync(file);
    mkdirSync(file);
    writeFileSync(join(file, 'in-the-way'), '');
    const refused = await mac.install('1.0.5');
    assert.equal(refused.ok ? 'installed' : refused.error.code, 'INTERNAL');
    assert.match(
      refused.ok ? '' : refused.error.message,
      /could not decide its record 1\.0\.3 -> 1\.0\.5 in .*pending\.json at the install of 1\.0\.5: .*; nothing installed, the rollback 1\.0\.4 -> 1\.0\.3 stays due: free space/,
    );
    assert.match(mac.log(), /the rollback 1\.0\.4 -> 1\.0\.3 is due again; attempt \d+ at/);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    // The disk is fixed: the next install takes the due rollback over, P (1.0.3) stays the one to go back to.
    rmSync(file, { recursive: true });
    mac.helper.setMode('succeed');
    const r = await mac.install('1.0.5');
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual([mac.pending()?.['from'], mac.pending()?.['to']], ['1.0.3', '1.0.5'], 'not 1.0.4 -> 1.0.5');
    assert.deepEqual(events(mac).at(-1), ['rollback-1_0_4', '1.0.4', '1.0.5', 'ok', 'ROLLBACK_TAKEN_OVER']);
  });
});
