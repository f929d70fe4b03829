/**
 * A rollback whose reinstall of P fails is tried again by the running helper (--rollback-retry),
 * with the real helper and the stand-in installer failing its first runs: P ends installed and N
 * quarantined without a restart; the wait neither commits N on its word nor keeps the helper alive
 * after SIGTERM; an install asked for while the rollback's installer runs is BUSY (never two
 * installers at once); a restart resumes from the durable pending record.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sendHealth } from '../../helper/client.js';
import type { ReportEvent } from '../../schema/types.js';
import { startHelper, until, newKey, type HelperProcess } from './harness.js';
import { macOn103 as macOn103With, type GateMac } from './gate-mac.js';

const key = newKey();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const macOn103 = (args: string[], env: Record<string, string> = {}) => macOn103With(key, cleanup, args, env);

const count = (text: string, part: string): number => text.split(part).length - 1;
const overlapFile = (mac: GateMac): string => `${mac.helper.record}.overlap`;
const kept = (mac: GateMac): string[] => readdirSync(join(mac.helper.dir, 'state', 'kept')).sort();
const quarantine = (mac: GateMac): unknown =>
  (JSON.parse(readFileSync(join(mac.helper.dir, 'state', 'quarantine.json'), 'utf8')) as { versions: unknown })
    .versions;

/** The helper's exit code, or 'alive' when it has not exited `ms` after the signal. */
async function exitWithin(h: HelperProcess, ms: number): Promise<number | null | 'alive'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'alive'>((resolve) => (timer = setTimeout(() => resolve('alive'), ms)));
  try {
    return await Promise.race([h.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a failed rollback is tried again by the running helper', () => {
  it('an installer that fails twice, then works: P installed and N quarantined, without a restart', async () => {
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '1,2']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail-first 2');
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.equal(mac.helper.proc.exitCode, null, 'the same helper process');
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null);
    assert.deepEqual(JSON.parse(readFileSync(join(mac.helper.dir, 'state', 'quarantine.json'), 'utf8')), {
      versions: ['1.0.4'],
    });
    const log = mac.log();
    // Each failure once, with its attempt number and the next try's time.
    assert.match(
      log,
      /ERROR .*SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 attempt 1 failed: the installer exited with 1 \[INSTALLER_FAILED\]; attempt 2 at \d{4}-\d\d-\d\dT[\d:.]+Z \(in (0\.[89]|1\.[012]) s\), 1\.0\.4 stays meanwhile/,
    );
    assert.match(log, /attempt 2 failed: .*; attempt 3 at \S+Z \(in (1\.[6-9]|2\.[0-4]) s\)/);
    assert.equal(count(log, 'attempt 1 failed'), 1);
    assert.equal(count(log, 'attempt 2 failed'), 1);
    assert.equal(count(log, 'attempt 3 failed'), 0);
    assert.match(log, /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\), attempt 3\n/);
    assert.doesNotMatch(log, /resumes the rollback/);
    assert.equal(mac.helper.invocations().length, 5, '1.0.3, 1.0.4, then 1.0.3 three times');
    assert.equal(existsSync(overlapFile(mac)), false, 'never two installer runs at once');
    // The fleet hears of the failure once (a fixed id), then of the rollback.
    const events = (mac.outbox()?.events ?? []) as unknown as { id: string; result: string; code: string | null }[];
    assert.deepEqual(
      events.map((e) => [e.id, e.result, e.code]),
      [
        ['rollback-failed_1_0_4', 'error', 'ROLLBACK_FAILED'],
        ['rollback-1_0_4', 'ok', 'HEALTH_DEADLINE'],
      ],
    );
  });

  it("while it waits: N's health_ok commits nothing, SIGTERM stops the helper at once, a restart resumes it", async () => {
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail');
    await until('the first failure', () => mac.log().includes('attempt 1 failed'), 30_000);
    assert.match(mac.log(), /attempt 2 at \S+Z \(in (4[89]\d|[56]\d\d|7[01]\d)\.\d s\)/);
    // The decision stands: N's word does not undo it.
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
    assert.equal(ok.ok && ok.pending, false, JSON.stringify(ok));
    assert.doesNotMatch(mac.log(), /health ok 1\.0\.4/);
    assert.equal(mac.pending()?.['rolling_back'], 'no health_ok within 2 s');
    assert.deepEqual(
      mac.outbox()?.events.map((e) => e.id),
      ['rollback-failed_1_0_4'],
    );
    // The wait is not what keeps the helper alive.
    mac.helper.proc.kill('SIGTERM');
    assert.equal(await exitWithin(mac.helper, 10_000), 0);
    assert.equal(count(mac.log(), 'attempt 1 failed'), 1);
    mac.helper.setMode('succeed');
    mac.helper = await startHelper({ key, dir: mac.helper.dir, extraArgs: ['--health-deadline', '2'] });
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(mac.log(), /resumes the rollback 1\.0\.4 -> 1\.0\.3/);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
  });

  it('an install asked for during the wait is carried out as before and takes the record over, P staying its from: the wait ends', async () => {
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '3']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail');
    await until('the first failure', () => mac.log().includes('attempt 1 failed'), 30_000);
    const next = Date.parse(/attempt 2 at (\S+Z)/.exec(mac.log())![1]!);
    mac.helper.setMode('succeed');
    const r = await mac.install('1.0.5');
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(Date.now() < next, 'asked for within the wait');
    assert.deepEqual(
      { ...mac.pending(), deadline: undefined, to_sha256: undefined },
      {
        from: '1.0.3',
        to: '1.0.5',
        to_sha256: undefined,
        deadline: undefined,
        deadline_s: 2,
        restarts: 0,
      },
    );
    assert.doesNotMatch(mac.log(), /health ok 1\.0\.4/, 'N failed its gate: no health event for it');
    // 1.0.4 is off this Mac: its rollback event says so (from 1.0.4 to 1.0.5), superseding ROLLBACK_FAILED.
    const events = (mac.outbox()?.events ?? []) as unknown as ReportEvent[];
    assert.deepEqual(
      events.map((e) => [e.id, e.from, e.to, e.result, e.code]),
      [
        ['rollback-failed_1_0_4', '1.0.4', '1.0.3', 'error', 'ROLLBACK_FAILED'],
        ['rollback-1_0_4', '1.0.4', '1.0.5', 'ok', 'ROLLBACK_TAKEN_OVER'],
      ],
    );
    assert.ok(events[1]!.duration_ms !== null && events[1]!.duration_ms > 0, 'from the decision to 1.0.5 installed');
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.5');
    assert.ok(ok.ok && !ok.pending, JSON.stringify(ok));
    // Nothing marks a timer that never fires: past the time the next attempt was due, none came.
    await new Promise((resolve) => setTimeout(resolve, next - Date.now() + 1000));
    assert.equal(count(mac.log(), 'SelfUpdate: rollback 1.0.4 -> 1.0.3 ('), 1, 'the first attempt only');
    assert.equal(mac.helper.installedVersion(), '1.0.5');
    assert.equal(mac.helper.invocations().length, 4, '1.0.3, 1.0.4, the failed rollback, 1.0.5');
  });

  it('an install that took the record over and then fails its own gate puts P back, never the quarantined N', async () => {
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '5']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail');
    await until('the first failure', () => mac.log().includes('attempt 1 failed'), 30_000);
    mac.helper.setMode('succeed');
    const r = await mac.install('1.0.5');
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(
      [mac.pending()?.['from'], mac.pending()?.['to'], mac.pending()?.['rolling_back']],
      ['1.0.3', '1.0.5', undefined],
    );
    assert.match(
      mac.log(),
      /pending 1\.0\.3 -> 1\.0\.5 \(taking the due rollback 1\.0\.4 -> 1\.0\.3 over\) until health_ok/,
    );
    assert.deepEqual(kept(mac), ['1.0.3.json', '1.0.3.pkg', '1.0.5.json', '1.0.5.pkg'], "P's package stays kept");
    // 1.0.5 never sends health_ok: its deadline puts 1.0.3 back, the last known good.
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(mac.log(), /rollback complete: 1\.0\.3 installed again; 1\.0\.5 is quarantined on this Mac/);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.deepEqual(quarantine(mac), ['1.0.4', '1.0.5']);
    assert.equal(mac.pending(), null);
    assert.deepEqual(
      mac.outbox()?.events.map((e) => e.id),
      ['rollback-failed_1_0_4', 'rollback-1_0_4', 'rollback-1_0_5'],
    );
  });

  it('an install that took the record over and fails: the rollback is due again, written back and tried again', async () => {
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '5']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail');
    await until('the first failure', () => mac.log().includes('attempt 1 failed'), 30_000);
    const due = mac.pending();
    assert.equal(due?.['rolling_back'], 'no health_ok within 2 s');
    // N itself (quarantined) is never let in: refused before the gate is touched.
    const n = await mac.install('1.0.4');
    assert.equal(!n.ok && n.error.code, 'NOT_AN_UPGRADE', JSON.stringify(n));
    assert.deepEqual(mac.pending(), due);
    const r = await mac.install('1.0.5'); // the installer still fails (a full disk breaks both)
    assert.equal(!r.ok && r.error.code, 'INSTALLER_FAILED', JSON.stringify(r));
    assert.deepEqual(mac.pending(), due, 'the due rollback, durably');
    assert.match(
      mac.log(),
      /ERROR .*SelfUpdate: the install of 1\.0\.5 over 1\.0\.4 failed; the rollback 1\.0\.4 -> 1\.0\.3 is due again; attempt 2 at \S+Z \(in [3-6]\.\d s\), 1\.0\.4 stays meanwhile/,
    );
    // The decision still stands against N's word.
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
    assert.equal(ok.ok && ok.pending, false, JSON.stringify(ok));
    mac.helper.setMode('succeed');
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(mac.log(), /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\), attempt 2\n/);
    assert.equal(mac.helper.proc.exitCode, null, 'the same helper process');
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.deepEqual(quarantine(mac), ['1.0.4']);
    assert.equal(mac.pending(), null);
    assert.equal(mac.helper.invocations().length, 5, '1.0.3, 1.0.4, the failed rollback, 1.0.5 failing, 1.0.3');
    assert.equal(existsSync(overlapFile(mac)), false, 'never two installer runs at once');
  });

  it('a rollback to a quarantined version is refused (ROLLBACK_REFUSED): nothing installed, N stays', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    // P quarantined behind the gate's back (a quarantine.json restored from a backup, or a record an
    // earlier helper wrote with a quarantined version as its from).
    writeFileSync(join(mac.helper.dir, 'state', 'quarantine.json'), JSON.stringify({ versions: ['1.0.3'] }));
    // Its event is recorded after the log line: the last step.
    await until('the refusal', () => (mac.outbox()?.events.length ?? 0) > 0, 30_000);
    assert.match(
      mac.log(),
      /ERROR .*SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\) refused: 1\.0\.3 is quarantined on this Mac \(it was rolled back here\); nothing installed, 1\.0\.4 stays/,
    );
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    assert.equal(mac.helper.invocations().length, 2, '1.0.3, 1.0.4: no rollback ran');
    assert.equal(mac.pending(), null);
    const events = (mac.outbox()?.events ?? []) as unknown as { id: string; code: string | null }[];
    assert.deepEqual(
      events.map((e) => [e.id, e.code]),
      [['rollback-1_0_4', 'ROLLBACK_REFUSED']],
    );
  });

  it("an install asked for while the rollback's installer runs is BUSY; a SIGTERM then sets no next try", async () => {
    const hold = join(mkdtempSync(join(tmpdir(), 'mngd-hold-')), 'hold');
    const mac = await macOn103(['--health-deadline', '2', '--rollback-retry', '600'], { STANDIN_HOLD_FILE: hold });
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('fail-first 1');
    writeFileSync(hold, '');
    await until("the rollback's installer", () => mac.helper.invocations().length === 3, 30_000);
    const asked = mac.install('1.0.5');
    // Its answer, or (were it let through) its own installer run beside the held one.
    let answered = false;
    void asked.then(() => (answered = true));
    await until('the answer or a 4th run', () => answered || mac.helper.invocations().length > 3, 30_000);
    // A stop while the attempt runs (still held): once it fails, no next try is set, and the helper exits.
    mac.helper.proc.kill('SIGTERM');
    await until('the stop', () => mac.log().includes('helper stopping on SIGTERM'), 10_000);
    rmSync(hold);
    const r = await asked;
    assert.equal(!r.ok && r.error.code, 'BUSY', JSON.stringify(r));
    assert.match(!r.ok ? r.error.message : '', /putting 1\.0\.3 back \(a rollback\); retry after it finishes/);
    assert.equal(await exitWithin(mac.helper, 10_000), 0);
    assert.match(mac.log(), /attempt 1 failed: .*; the helper is stopping: it is tried again when the helper starts/);
    assert.doesNotMatch(mac.log(), /attempt 2 at/);
    assert.equal(mac.helper.invocations().length, 3, 'the install asked for never ran');
    assert.equal(existsSync(overlapFile(mac)), false);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    assert.equal(mac.pending()?.['rolling_back'], 'no health_ok within 2 s', 'the refused install left the record due');
  });
});
