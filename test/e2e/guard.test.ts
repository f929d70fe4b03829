/**
 * The guard story of `npm start` (#18) as an end-to-end test: real helpers and agents checking in
 * with the stand-in mngd server (the reference ingest into PGlite, or PostgreSQL with
 * TEST_DATABASE_URL), a stand-in installer failing on 30 % of the Macs for 1.0.4, and the real
 * `mngd-release guard`, `publish` and `status`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGuardStory, type GuardStoryResult } from '../../scripts/demo/guard.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { isAlive } from '../helper/harness.js';

let r: GuardStoryResult;
let db: TestDatabase | null = null;
let output = '';

describe('a failing rollout halted by the guard (npm start -- --story guard)', () => {
  before(async () => {
    if (process.env['TEST_DATABASE_URL']) db = await openTestDatabase();
    r = await runGuardStory({
      dir: mkdtempSync(join(tmpdir(), 'mngd-e2e-guard-')),
      fleetSize: 10,
      ...(db?.url ? { databaseUrl: db.url } : {}),
      out: (t) => void (output += t),
    });
  });
  after(async () => {
    await db?.close();
  });

  it('fails the install of 1.0.4 on 30 % of the Macs, and each of the first Macs reports what it did', () => {
    assert.deepEqual(r.failing, ['mac-04', 'mac-07', 'mac-10']);
    assert.deepEqual(r.wave1, ['mac-01', 'mac-02', 'mac-03', 'mac-04']);
    for (const id of r.wave1)
      assert.equal(r.afterWave1.get(id), r.failing.includes(id) ? '1.0.3' : '1.0.4', `${id}\n${output}`);
    assert.equal(r.refused, 0, 'the server stored every report');
    assert.ok(r.checkins >= r.fleet, output);
  });

  it('halts 1.0.4 with the evidence, through guard and the break-glass publish', () => {
    assert.equal(r.guardExit, 0, output);
    assert.match(
      r.haltReason ?? '',
      /guard: 1 of 4 install attempt\(s\) of 1\.0\.4 on stable failed or rolled back in the last 1h: 1 error\(s\) \(INSTALLER_FAILED ×1\), 0 rollback\(s\); failure rate 25\.0 % > max_failure_rate 10\.0 %/,
      output,
    );
    assert.deepEqual(r.offeredAfterHalt, ['1.0.3']);
    assert.equal(r.rerunHalts, 0, 'a rerun with nothing new changes nothing');
  });

  it('the rest of the fleet never takes it', () => {
    for (const id of r.wave2) assert.equal(r.after.get(id), '1.0.3', `${id}\n${output}`);
  });

  it('status shows what happened: who runs what, the attempts and failures of 1.0.4, and that it is no longer offered', () => {
    const [stable] = r.status;
    assert.equal(stable?.activeDevices, 10);
    const v104 = stable?.versions.find((v) => v.version === '1.0.4');
    assert.deepEqual(
      v104 && { devices: v104.devices, offered: v104.offered, attempts: v104.attempts, failures: v104.failures },
      { devices: 3, offered: null, attempts: 4, failures: [{ kind: 'install', code: 'INSTALLER_FAILED', count: 1 }] },
      output,
    );
    assert.equal(stable?.versions.find((v) => v.version === '1.0.3')?.devices, 7);
    assert.match(r.statusText, /1\.0\.4\s+3\s+30%\s+no\s+4\s+install INSTALLER_FAILED ×1/);
  });

  it('leaves nothing running', () => {
    assert.ok(r.pids.length > r.fleet, 'a helper per Mac, and the agents launchd ran');
    for (const pid of r.pids) assert.equal(isAlive(pid), false, `process ${pid} still runs`);
  });
});
