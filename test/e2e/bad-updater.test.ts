/**
 * The bad-updater story of `npm start` (#19) as an end-to-end test: real helpers with a short
 * --health-deadline, real agents run by the demo's launchd, a 1.0.4 build that never checks in;
 * every Mac that took it is back on 1.0.3 by itself, reports the rollback, and the guard halts
 * 1.0.4 on those rollbacks before the rest of the fleet takes it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBadUpdaterStory, type BadUpdaterResult } from '../../scripts/demo/bad-updater.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { isAlive } from '../helper/harness.js';

const DEADLINE_S = 4;
let r: BadUpdaterResult;
let db: TestDatabase | null = null;
let output = '';

describe('a release that breaks the updater (npm start -- --story bad-updater)', () => {
  before(async () => {
    if (process.env['TEST_DATABASE_URL']) db = await openTestDatabase();
    r = await runBadUpdaterStory({
      dir: mkdtempSync(join(tmpdir(), 'mngd-e2e-bad-updater-')),
      fleetSize: 8,
      deadlineS: DEADLINE_S,
      ...(db?.url ? { databaseUrl: db.url } : {}),
      out: (t) => void (output += t),
    });
  });
  after(async () => {
    await db?.close();
  });

  it('every Mac that took 1.0.4 runs 1.0.3 again by itself, soon after the deadline, with 1.0.4 quarantined', () => {
    assert.deepEqual(r.wave1, ['mac-01', 'mac-02', 'mac-03', 'mac-04']);
    for (const id of r.wave1) {
      assert.equal(r.afterWave1.get(id), '1.0.3', `${id}\n${output}`);
      assert.deepEqual(r.quarantined.get(id), ['1.0.4'], id);
    }
    assert.equal(r.timings.length, r.wave1.length, output);
    for (const t of r.timings) {
      // the helper acts on the deadline (never before it), and the old version runs seconds later
      assert.ok(t.rolledBack >= t.deadline - 50, `${t.device} rolled back before its deadline`);
      assert.ok(t.running - t.deadline < 30_000, `${t.device}: ${t.running - t.deadline} ms after the deadline`);
    }
    assert.match(
      output,
      /From the deadline to 1\.0\.3 running again \(4 Macs\): min \d+\.\d\d s, median \d+\.\d\d s, max \d+\.\d\d s/,
    );
  });

  it('each rollback reaches the server as such: from 1.0.4 to 1.0.3, HEALTH_DEADLINE', () => {
    assert.equal(r.rollbacks.length, r.wave1.length, output);
    for (const e of r.rollbacks)
      assert.deepEqual(
        [e.id, e.from, e.to, e.result, e.code],
        ['rollback-1_0_4', '1.0.4', '1.0.3', 'ok', 'HEALTH_DEADLINE'],
      );
  });

  it('the guard halts 1.0.4 on the rollbacks, and the rest of the fleet never takes it', () => {
    assert.equal(r.guardExit, 0, output);
    assert.match(
      r.haltReason ?? '',
      /4 of 4 install attempt\(s\) of 1\.0\.4 .*0 error\(s\), 4 rollback\(s\); failure rate 100\.0 %/,
    );
    assert.deepEqual(r.offeredAfterHalt, ['1.0.3']);
    for (const id of r.wave2) assert.equal(r.after.get(id), '1.0.3', `${id}\n${output}`);
    const v104 = r.status[0]?.versions.find((v) => v.version === '1.0.4');
    assert.deepEqual(
      v104 && [v104.devices, v104.attempts, v104.rollbacks, v104.offered],
      [0, 4, 4, null],
      r.statusText,
    );
  });

  it('leaves nothing running', () => {
    for (const pid of r.pids) assert.equal(isAlive(pid), false, `process ${pid} still runs`);
  });
});
