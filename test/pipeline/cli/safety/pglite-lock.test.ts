/**
 * Safety changes always publish, through the real mngd-release bin: a yank goes out while another
 * process holds the embedded PGlite folder (its lock), and the next apply catches the table up.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../support/cli.js';
import { safetyFixture, yank, type SafetyFixture } from './fixture.js';

describe('safety publish while the embedded PGlite is locked (mngd-release bin)', () => {
  let f: SafetyFixture | undefined;
  after(() => f?.close());

  it('publishes the yank while another process holds the PGlite folder', async () => {
    f = await safetyFixture({ pglite: true });
    assert.equal(f.db.kind, 'pglite');
    await yank(f);
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { openPglite } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/pipeline/table/db/pglite.js'))});
         const db = await openPglite(process.argv[1]);
         process.stdout.write('held\\n');
         process.stdin.resume();
         process.stdin.on('end', async () => { await db.close(); process.exit(0); });`,
        join(f.repo.root, '.state', 'pglite'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(holder.stdout, 'data')) as [Buffer];
      assert.equal(line.toString().trim(), 'held');
      const run = await f.apply();
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.deepEqual(await f.offered(), ['1.0.3@100'], 'the yank reached the manifest');
      assert.match(run.stdout, /✓ publish: 2 of 2 manifest\(s\)/);
      assert.match(run.stdout, /✗ sync: the embedded database in .* is in use by process \d+/);
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
    const again = await f.apply();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ sync: .*1 to yank/);
  });
});
