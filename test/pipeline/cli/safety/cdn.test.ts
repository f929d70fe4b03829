/**
 * Safety changes always publish, through the real mngd-release bin: a yank goes out while the
 * yanked package is pulled and another listed package 404s; a change that offers more still
 * stops at the first failure.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { safetyFixture, yank, type SafetyFixture } from './fixture.js';

describe('safety publish while the CDN fails (mngd-release bin)', () => {
  const open: SafetyFixture[] = [];
  after(async () => {
    for (const f of open) await f.close();
  });

  it('publishes a yank while the yanked package is pulled and another listed package 404s', async () => {
    const f = await safetyFixture();
    open.push(f);
    f.pull('1.0.4'); // the bad package pulled from the CDN
    f.pull('1.0.3'); // and, unrelated, another listed package 404s
    await yank(f);
    const run = await f.apply();
    // a 404 on a listed package is the releases' to fix (exit 1): the job is still red
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(await f.offered(), ['1.0.3@100'], 'the yank reached the manifest');
    assert.match(run.stdout, /Safety change: every changed channel only offers less/);
    assert.match(run.stdout, /stable offers less: 1\.0\.4 removed \(was offered to 20%\)/);
    assert.match(run.stdout, /✓ publish: 2 of 2 manifest\(s\) written/);
    assert.match(run.stdout, /✗ verify-artifacts: .*\n.*1\.0\.3\.yaml.*ARTIFACT_NOT_FOUND/);
    assert.match(run.stdout, /✓ sync: .*1 to yank/);
    assert.match(
      run.stderr,
      /Safety change published: the manifests offer less, as git says\. Skipped: verify-artifacts failed/,
    );
    assert.ok(run.stdout.indexOf('publish:') < run.stdout.indexOf('verify-artifacts:'), 'publish runs first');
  });

  it('a change that offers more still stops at the first failure', async () => {
    const f = await safetyFixture();
    open.push(f);
    f.pull('1.0.3');
    await f.release('1.0.5', { rollout_percent: 10 });
    const more = await f.apply();
    assert.equal(more.code, 1, more.stdout + more.stderr);
    assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100'], 'nothing was published');
    assert.doesNotMatch(more.stdout, /Safety change/);
    assert.match(more.stdout, /✗ verify-artifacts/);
    assert.match(more.stdout, /- sync: not started/);
    assert.match(more.stdout, /- publish: not started/);

    // a yank together with a new release is mixed: no shortcut either
    await yank(f);
    const mixed = await f.apply();
    assert.equal(mixed.code, 1, mixed.stdout + mixed.stderr);
    assert.match(mixed.stdout, /- publish: not started/);
    assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100']);
  });
});
