/**
 * What `publish` says when it stops part-way: the channel it stopped at, what is done and what is
 * not, the error once (reportError's line), and "re-run to converge" only where a re-run can
 * cure it (an outage), not for a clock that names its own fix.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

describe('publish stopped part-way', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  const env = () => ({ MNGD_SIGNING_KEY: key.private });
  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable', 'beta'] });
    await repo.writeRelease({ version: '1.0.0' });
    assert.equal((await repo.run(['publish'], env(), T0)).code, 0);
    await repo.writeRelease({ version: '1.0.1' });
  });
  after(() => repo.close());

  it('a clock behind: where it stopped, the error once, and no "re-run" (a re-run fails the same way)', async () => {
    const run = await repo.run(['publish'], env(), new Date(T0.getTime() - 365 * 86_400_000));
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /publish stopped at channel "stable"; done: nothing; not done: stable, beta\./);
    assert.equal(count(run.stderr, /365 days before/), 1, run.stderr);
    assert.doesNotMatch(run.stderr, /re-run to converge/);
  });

  it('an outage (the target cannot be written): "re-run to converge", the error once', async () => {
    const history = join(repo.root, '.state', 'bucket', 'history');
    await rm(history, { recursive: true, force: true });
    await writeFile(history, 'not a folder'); // every history write fails: ENOTDIR
    try {
      const run = await repo.run(['publish'], env(), new Date(T0.getTime() + 60_000));
      assert.equal(run.code, 3, run.stderr);
      assert.match(
        run.stderr,
        /publish stopped at channel "stable"; .*latest\.json of "stable" was not replaced; re-run to converge\./,
      );
      assert.equal(count(run.stderr, /history/), 1, run.stderr);
    } finally {
      await rm(history, { force: true });
      await mkdir(history);
    }
  });
});
