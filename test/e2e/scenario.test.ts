/**
 * The `npm start` scenario as an end-to-end test: the real pipeline, helpers and agents on one
 * machine, with assertions on the table, the manifests and the devices' installed versions after
 * each story. Cohorts are deterministic (device ids and versions are fixed), so the exact set of
 * devices that moves is known in advance from the contract's bucket function.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eligible } from '../../schema/choose.js';
import { runScenario, type ScenarioResult, type StoryResult } from '../../scripts/demo/scenario.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

const FLEET = 12;
let result: ScenarioResult;
let db: TestDatabase | null = null;
let output = '';

function story(name: string): StoryResult {
  const s = result.stories.find((x) => x.name.startsWith(name));
  assert.ok(s, `story ${name}`);
  return s;
}

describe('the whole flow on one machine (npm start)', () => {
  before(async () => {
    // PostgreSQL when the run has one (CI), else the embedded PGlite the demo uses.
    if (process.env['TEST_DATABASE_URL']) db = await openTestDatabase();
    result = await runScenario({
      dir: mkdtempSync(join(tmpdir(), 'mngd-e2e-')),
      fleetSize: FLEET,
      ...(db?.url ? { databaseUrl: db.url } : {}),
      out: (t) => void (output += t),
    });
  });
  after(async () => {
    await db?.close();
  });

  it('updates every device to the first release the pipeline ships', () => {
    const s = story('First release');
    assert.equal(s.applyExit, 0, output);
    assert.deepEqual(
      s.manifest.releases.map((r) => r.version),
      ['1.0.1'],
    );
    assert.ok(
      [...s.after.values()].every((v) => v === '1.0.1'),
      output,
    );
    assert.equal(s.legacy, '1.0.1');
  });

  it('moves exactly the 25 % cohort of 1.0.2, and keeps the staged release out of the legacy endpoint', () => {
    const s = story('Staged rollout');
    assert.deepEqual(
      s.manifest.releases.map((r) => [r.version, r.rollout_percent]),
      [
        ['1.0.2', 25],
        ['1.0.1', 100],
      ],
    );
    const expected = [...s.before.keys()]
      .filter((id) => eligible(id, { version: '1.0.2', rollout_percent: 25 }))
      .sort();
    const moved = [...s.after]
      .filter(([id, v]) => v !== s.before.get(id))
      .map(([id]) => id)
      .sort();
    assert.deepEqual(moved, expected, output);
    assert.ok(moved.every((id) => s.after.get(id) === '1.0.2'));
    assert.equal(s.legacy, '1.0.1');
  });

  it('yanks by git revert: the manifest falls back with a higher sequence and nobody downgrades', () => {
    const staged = story('Staged rollout');
    const s = story('Yank');
    assert.equal(s.applyExit, 0, output);
    assert.deepEqual(
      s.manifest.releases.map((r) => r.version),
      ['1.0.1'],
    );
    assert.ok(s.manifest.sequence > staged.manifest.sequence);
    assert.deepEqual(s.after, s.before, output);
    assert.ok(
      s.checks.every((c) => c.result?.outcome === 'up-to-date'),
      output,
    );
    assert.equal(s.legacy, '1.0.1');
  });

  it('forces every device below the floor to update, and blocks checkin until it has', () => {
    const s = story('Forced update');
    assert.equal(s.manifest.min_required_version, '1.0.3');
    assert.ok(
      [...s.after.values()].every((v) => v === '1.0.3'),
      output,
    );
    const stuck = `mac-${String(FLEET).padStart(2, '0')}`;
    const runs = s.checks.filter((c) => c.device.id === stuck);
    assert.equal(runs.length, 2);
    assert.equal(runs[0]!.result?.outcome, 'failed', output);
    assert.equal(runs[0]!.result?.code, 'HELPER_UNREACHABLE');
    assert.equal(runs[0]!.result?.blocked, true);
    assert.equal(runs[1]!.result?.outcome, 'updated', output);
    assert.equal(runs[1]!.result?.blocked, false);
    // Devices outside the 10 % cohort were moved by the floor, not by the rollout.
    for (const c of s.checks.filter((c) => c.result?.outcome === 'updated')) {
      assert.equal(c.result?.forced, !eligible(c.device.id, { version: '1.0.3', rollout_percent: 10 }), c.device.id);
    }
    // A 10 % release is not one every stable agent may take: the legacy endpoint still serves 1.0.1.
    assert.equal(s.legacy, '1.0.1');
  });

  it('publishes a yank under fire (package pulled, another 404ing, database down); the table catches up next', () => {
    const s = story('A yank under fire');
    // the job is red (a step failed), but the manifest went out
    assert.notEqual(s.applyExit, 0, output);
    assert.deepEqual(
      s.manifest.releases.map((r) => r.version),
      ['1.0.3', '1.0.1'],
    );
    assert.match(output, /Safety change: every changed channel only offers less/);
    assert.match(output, /✗ sync: PostgreSQL at .*\[DB_UNAVAILABLE\]/);
    assert.match(output, /mngd-agent-1\.0\.1\.pkg answers HTTP 404/);
    // every Mac's next check verified the yank's manifest, and none took 1.0.4 (half the fleet's
    // cohort would have without the yank)
    assert.ok(
      s.checks.every((c) => c.result?.manifest?.sequence === s.manifest.sequence),
      output,
    );
    assert.ok(
      [...s.after.values()].every((v) => v !== '1.0.4'),
      output,
    );
    assert.ok([...s.before.keys()].some((id) => eligible(id, { version: '1.0.4', rollout_percent: 50 })));
    // the following apply, once the outage is over, catches the table up
    assert.equal(s.followUpExit, 0, output);
    assert.match(
      output,
      /The outage is over; the following apply catches the table up:\n\$ mngd-release apply\n.*\n {2}✓ sync: .*1 to yank/,
    );
  });

  it('leaves nothing running', () => {
    assert.equal(result.helperPids.length, FLEET + 1); // one per Mac, and the restarted one
    for (const pid of result.helperPids) {
      assert.throws(
        () => process.kill(pid, 0),
        (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
        `helper ${pid} still runs`,
      );
    }
  });
});
