/**
 * The rollback's own reinstall across a helper restart: N = 1.0.4 misses its health deadline and
 * the real helper puts P = 1.0.3 back; it is killed (kill -9, by pid) while that reinstall's
 * installer (the stand-in, held) runs, and started again on the same folders, as launchd does. The
 * installer runs on, detached. The restarted helper must answer installs BUSY and start no second
 * installer beside it, then decide from what it left installed: P (the rollback completed, recorded
 * as one) or still N (the rollback resumed). The stand-in records each run's start and end with its
 * pid: no two runs ever overlap.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sendHealth } from '../../helper/client.js';
import { assertOneAtATime, isAlive, newKey, startHelper, until } from './harness.js';
import { macOn103, type GateMac } from './gate-mac.js';

const key = newKey();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The held installer must not reach its deadline (a restarted helper kills it then): a slow machine. */
const SLOW = ['--installer-timeout', '120'];

const events = (mac: GateMac) => (mac.outbox()?.events ?? []).map((e) => Object.values(pick(e)));
function pick(e: object): Record<string, unknown> {
  const { id, from, to, result, code, duration_ms } = e as Record<string, unknown>;
  return { id, from, to, result, code, duration_ms };
}
const ROLLED_BACK = ['rollback-1_0_4', '1.0.4', '1.0.3', 'ok', 'HEALTH_DEADLINE', null];

function state<T>(mac: GateMac, name: string): T | null {
  const f = join(mac.helper.dir, 'state', name);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : null;
}

/**
 * A Mac on 1.0.4 whose rollback to 1.0.3 (at the 2 s deadline) is running its installer, held,
 * when the helper is killed; `restart` starts a helper on the same folders.
 */
async function killedDuringRollback(): Promise<{
  mac: GateMac;
  hold: string;
  restart: (retry: string) => Promise<void>;
}> {
  const hold = join(mkdtempSync(join(tmpdir(), 'mngd-hold-')), 'hold');
  const args = (retry: string) => ['--health-deadline', '2', '--rollback-retry', retry, ...SLOW];
  const mac = await macOn103(key, cleanup, args('5'), { STANDIN_HOLD_FILE: hold });
  cleanup.push(async () => rmSync(hold, { force: true })); // before the helper's stop (cleanup runs backwards)
  assert.equal((await mac.install('1.0.4')).ok, true);
  writeFileSync(hold, ''); // before the deadline (2 s after the install) starts the rollback
  await until("the rollback's installer", () => mac.helper.invocations().length === 3, 30_000);
  assert.deepEqual([mac.pending()?.['to'], mac.pending()?.['rolling_back']], ['1.0.4', 'no health_ok within 2 s']);
  // The rollback's installer runs under the install marker, as any install's.
  const marker = state<{ staged: string }>(mac, 'install.json');
  assert.ok(marker !== null, 'install.json is written before the rollback runs its installer');
  assert.deepEqual(mac.helper.stagedFiles(), [basename(marker.staged)]);
  process.kill(mac.helper.proc.pid!, 'SIGKILL');
  await mac.helper.exited;
  const restart = async (retry: string) => {
    mac.helper = await startHelper({
      key,
      dir: mac.helper.dir,
      extraArgs: args(retry),
      env: { STANDIN_HOLD_FILE: hold },
    });
  };
  return { mac, hold, restart };
}

/** While the earlier helper's installer runs: said, BUSY to an install, N's word ignored, nothing run beside it. */
async function waitsForIt(mac: GateMac): Promise<void> {
  const said = () => mac.log().includes('a restart interrupted once that installer has ended');
  await until('the wait, or a second installer', () => said() || mac.helper.invocations().length > 3, 30_000);
  assert.equal(mac.helper.invocations().length, 3, 'no second installer beside it');
  assert.match(
    mac.log(),
    /WARN .*SelfUpdate: helper decides the rollback 1\.0\.4 -> 1\.0\.3 a restart interrupted once that installer has ended: an installer started by an earlier helper \(pid \d+/,
  );
  const asked = await mac.install('1.0.5');
  assert.equal(asked.ok, false);
  assert.equal(!asked.ok && asked.error.code, 'BUSY');
  assert.match(!asked.ok ? asked.error.message : '', /an installer started by an earlier helper \(pid \d+/);
  const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
  assert.equal(ok.ok && ok.pending, false, JSON.stringify(ok));
  assert.equal(mac.helper.invocations().length, 3, 'no second installer beside it');
  assert.equal(mac.pending()?.['rolling_back'], 'no health_ok within 2 s', 'the record kept');
}

describe("a helper killed during its rollback's reinstall of P", () => {
  it('that installer puts P back: the restarted helper waits for it, then records the rollback as completed', async () => {
    const { mac, hold, restart } = await killedDuringRollback();
    await restart('1');
    await waitsForIt(mac);
    mac.helper.setMode('succeed');
    rmSync(hold);
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(mac.log(), /WARN .*SelfUpdate: rollback complete: 1\.0\.3 installed again; 1\.0\.4 is quarantined/);
    assert.doesNotMatch(mac.log(), /resumes the rollback/);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null);
    assert.deepEqual(events(mac), [ROLLED_BACK]);
    assert.deepEqual(state(mac, 'quarantine.json'), { versions: ['1.0.4'] });
    assert.equal(state(mac, 'install.json'), null);
    assertOneAtATime(mac.helper.spans(), 3); // 1.0.3, 1.0.4, the rollback: never one beside another
    // Nothing is due any more: the next install goes ahead.
    assert.equal((await mac.install('1.0.5')).ok, true);
    assertOneAtATime(mac.helper.spans(), 4);
  });

  it('that installer fails (still N): the restarted helper waits for it, then resumes the rollback', async () => {
    const { mac, hold, restart } = await killedDuringRollback();
    await restart('1');
    await waitsForIt(mac);
    mac.helper.setMode('fail-first 1'); // the held run fails; the resumed rollback's run succeeds
    rmSync(hold);
    await until('rollback complete', () => mac.log().includes('rollback complete'), 30_000);
    assert.match(mac.log(), /WARN .*SelfUpdate: helper resumes the rollback 1\.0\.4 -> 1\.0\.3 a restart interrupted/);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null);
    // Timed from this helper's own attempt (the earlier helper's clock did not survive).
    assert.deepEqual(
      events(mac).map((e) => e.slice(0, 5)),
      [ROLLED_BACK.slice(0, 5)],
    );
    assertOneAtATime(mac.helper.spans(), 4); // 1.0.3, 1.0.4, the held rollback, the resumed one
  });

  it('that installer puts P back and an install comes before the helper looks again: the rollback is recorded completed, not taken over', async () => {
    const { mac, hold, restart } = await killedDuringRollback();
    await restart('600'); // no second look for minutes: the install is what finds P installed
    await waitsForIt(mac);
    mac.helper.setMode('succeed');
    rmSync(hold);
    // Its "end" line is written as it exits: the process itself gone too (else the install is BUSY).
    const held = Number(mac.helper.spans()[4]?.slice('start '.length));
    await until('the held installer ended', () => mac.helper.spans().length === 6 && !isAlive(held), 30_000);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    const asked = await mac.install('1.0.5');
    assert.equal(asked.ok, true, JSON.stringify(asked));
    assert.deepEqual(events(mac), [ROLLED_BACK]);
    const p = mac.pending();
    assert.deepEqual(
      [p?.['from'], p?.['to'], p?.['took_over'], p?.['rolling_back']],
      ['1.0.3', '1.0.5', undefined, undefined],
    );
    assert.match(mac.log(), /rollback complete: 1\.0\.3 installed again/);
    assertOneAtATime(mac.helper.spans(), 4);
  });
});
