/**
 * Safety changes always publish, through the real mngd-release bin: a yank goes out while
 * PostgreSQL is unreachable (a closed port); plan and drift then say the table is behind, and the
 * next apply catches it up.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort, safetyFixture, yank, type SafetyFixture } from './fixture.js';

describe('safety publish while PostgreSQL is unreachable (mngd-release bin)', () => {
  let f: SafetyFixture | undefined;
  after(() => f?.close());

  it('publishes the yank; plan and drift say the table is behind; the next apply catches it up', async () => {
    f = await safetyFixture();
    await yank(f);
    const down = { DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/x` };
    const run = await f.apply(down);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.deepEqual(await f.offered(), ['1.0.3@100'], 'the yank reached the manifest');
    assert.match(run.stdout, /✓ publish: 2 of 2 manifest\(s\)/);
    assert.match(run.stdout, /✓ verify-artifacts/);
    assert.match(run.stdout, /✗ sync: .*\[DB_UNAVAILABLE\]/);
    assert.match(
      run.stderr,
      /Skipped: sync failed \(agent_releases was not updated.*\)\. The next apply catches the table up/,
    );

    // the table (reachable again) still has 1.0.4 active: plan and drift name it
    const plan = await f.bin(['plan']);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(
      plan.stdout,
      /the table is behind: the published manifests already carry yank 1\.0\.4; .*the next apply catches it up/,
    );
    const drift = await f.bin(['drift']);
    assert.equal(drift.code, 1);
    assert.match(drift.stdout, /! table: the table is behind: .* to 1\.0\.4, .*the next apply catches it up/);

    const again = await f.apply();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ sync: .*1 to yank/);
    assert.match(again.stdout, /✓ publish: 0 of 2 manifest\(s\)/);
    const clean = await f.bin(['drift']);
    assert.equal(clean.code, 0, clean.stdout);
    assert.doesNotMatch(clean.stdout, /behind/);
  });
});
