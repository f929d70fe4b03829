/**
 * The install marker's one rule around every installer run (InstallMarkerStore.around, used by an
 * install and by the rollback's reinstall alike), with real processes: refused while an installer
 * an earlier helper started still runs, the marker on disk while the run goes on, gone after it,
 * and never two runs of this helper at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InstallMarkerStore, processStart } from '../../helper/install-marker.js';
import { silentLogger } from '../../helper/log.js';
import { HelperError } from '../../helper/protocol.js';
import { until } from './harness.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function folders(): { state: string; staging: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mngd-marker-'));
  dirs.push(dir);
  const staging = join(dir, 'staging');
  mkdirSync(staging);
  return { state: dir, staging };
}

const busy = (err: unknown) => err instanceof HelperError && err.code === 'BUSY';

describe('InstallMarkerStore.around', () => {
  it("refuses (BUSY) while an earlier helper's installer runs, then runs under the marker once it has ended", async () => {
    const { state, staging } = folders();
    const staged = join(staging, 'earlier.pkg');
    writeFileSync(staged, 'x');
    // The earlier (killed) helper's installer: a real process, recorded in the marker it left.
    const orphan = spawn('sleep', ['60'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => orphan.on('exit', resolve));
    const started = await processStart(orphan.pid!);
    const deadline = new Date(Date.now() + 60_000).toISOString();
    writeFileSync(
      join(state, 'install.json'),
      JSON.stringify({ pid: orphan.pid, started, staged, deadline, helper_pid: 1 }) + '\n',
    );
    const store = new InstallMarkerStore(state, staging, silentLogger);
    let ran = 0;
    const run = async (onStart: (pid: number) => void) => {
      ran += 1;
      onStart(process.pid);
      return JSON.parse(readFileSync(join(state, 'install.json'), 'utf8')) as { staged: string };
    };
    await assert.rejects(store.around(join(staging, 'mine.pkg'), 10_000, run), busy);
    assert.equal(ran, 0, 'nothing runs beside it');
    orphan.kill('SIGKILL');
    await gone;
    const during = await store.around(join(staging, 'mine.pkg'), 10_000, run);
    assert.equal(ran, 1);
    assert.equal(during.staged, join(staging, 'mine.pkg'), 'the marker names this run while it goes on');
    assert.equal(existsSync(join(state, 'install.json')), false, 'and is removed after it');
    assert.equal(existsSync(staged), false, "the earlier installer's staged copy is removed");
  });

  it('never runs two installers of this helper at once; its own is no orphan to an install asked for', async () => {
    const { state, staging } = folders();
    const store = new InstallMarkerStore(state, staging, silentLogger);
    let inner: unknown = null;
    await store.around(join(staging, 'a.pkg'), 10_000, async (onStart) => {
      onStart(process.pid); // a running process, as this helper's installer is
      await until('its pid on disk', () =>
        readFileSync(join(state, 'install.json'), 'utf8').includes(`"pid":${process.pid}`),
      );
      inner = await store.around(join(staging, 'b.pkg'), 10_000, async () => 'ran').catch((err: unknown) => err);
      await store.refuseWhileOrphanRuns(); // the health gate answers for it (its own BUSY)
    });
    assert.ok(busy(inner), String(inner));
  });
});
