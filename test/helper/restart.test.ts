/**
 * The helper killed (`kill -9`) mid-install and started again on the same folders, as launchd
 * does: "one install at a time" must hold across the restart (the killed helper's installer runs
 * on, detached), and what the killed helper staged must not stay in staging for ever.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestInstall } from '../../helper/client.js';
import {
  isAlive,
  makePkg,
  newKey,
  releaseOf,
  signedManifest,
  startHelper,
  until,
  type HelperProcess,
} from './harness.js';

const key = newKey();

describe('mngd-helper killed and restarted', () => {
  let work: string;
  const helpers: HelperProcess[] = [];
  const start = async (opts: Partial<Parameters<typeof startHelper>[0]> = {}) => {
    const h = await startHelper({ key, ...opts });
    helpers.push(h);
    return h;
  };
  const kill9 = async (h: HelperProcess) => {
    h.proc.kill('SIGKILL');
    await h.exited;
  };
  /** A helper killed (-9) while its installer of 1.0.3 runs (held): the installer outlives it. */
  const killedDuringInstall = async () => {
    const h1 = await start({ installed: '1.0.2' });
    h1.setMode('hang');
    const p103 = makePkg(work, '1.0.3');
    const m = signedManifest([releaseOf(p103), releaseOf(makePkg(work, '1.0.2'))], [key]);
    const req = { manifest: m, version: '1.0.3', pkg_path: p103.path };
    const first = requestInstall(h1.socket, req, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await until('the installer to run', () => existsSync(h1.pidFile) && readFileSync(h1.pidFile, 'utf8').trim() !== '');
    const installerPid = Number(readFileSync(h1.pidFile, 'utf8').split(' ')[0]);
    await kill9(h1);
    await first;
    return { h1, req, installerPid };
  };
  before(() => (work = mkdtempSync(join(tmpdir(), 'mngd-helper-restart-'))));
  after(async () => {
    for (const h of helpers) await h.stop();
    rmSync(work, { recursive: true, force: true });
    for (const h of new Set(helpers.map((x) => x.dir))) rmSync(h, { recursive: true, force: true });
  });

  it("answers BUSY while the killed helper's installer still runs, never starting a second one, then installs once it has ended", async () => {
    const { h1, req, installerPid } = await killedDuringInstall();
    assert.ok(isAlive(installerPid), 'the detached installer outlives its helper');

    const h2 = await start({ dir: h1.dir });
    h2.setMode('succeed');
    const busy = await requestInstall(h2.socket, req, { timeoutMs: 10_000 });
    assert.equal(busy.ok, false, JSON.stringify(busy));
    assert.equal(!busy.ok && busy.error.code, 'BUSY');
    assert.ok(!busy.ok && busy.error.message.includes(`pid ${installerPid}`), JSON.stringify(busy));
    assert.equal(h2.invocations().length, 1, 'no second installer while the first runs');
    assert.equal(h2.stagedFiles().length, 1, 'the copy the running installer reads stays');

    process.kill(-installerPid, 'SIGKILL'); // the installer (and what it started) ends
    await until('the installer to end', () => !isAlive(installerPid));
    const done = await requestInstall(h2.socket, req, { timeoutMs: 10_000 });
    assert.equal(done.ok, true, JSON.stringify(done));
    assert.equal(h2.installedVersion(), '1.0.3');
    assert.equal(h2.invocations().length, 2);
    assert.deepEqual(h2.stagedFiles(), [], "the ended installer's copy is removed");
    // its pid, or "not recorded" when the kill came before the helper had written it down
    assert.match(
      readFileSync(h2.logFile, 'utf8'),
      /the installer of an earlier helper \(pid (\d+|not recorded)\) has ended/,
    );
  });

  it("takes no other user's process naming the killed helper's staged copy for its installer: installs go on", async () => {
    const { h1, req, installerPid } = await killedDuringInstall();
    const { staged } = JSON.parse(readFileSync(join(h1.dir, 'state', 'install.json'), 'utf8')) as { staged: string };
    // Another local user (uid 1001) runs a process naming the staged copy, as anyone who saw it could.
    const impostor = spawn(
      'setpriv',
      ['--reuid=1001', '--regid=1001', '--clear-groups', process.execPath, '-e', 'setInterval(() => {}, 1000)', staged],
      { stdio: 'ignore' },
    );
    const gone = new Promise((resolve) => impostor.once('exit', resolve));
    try {
      await until("the impostor's process", () => isAlive(impostor.pid!));
      process.kill(-installerPid, 'SIGKILL'); // the killed helper's installer ends
      await until('the installer to end', () => !isAlive(installerPid));
      const h2 = await start({ dir: h1.dir });
      h2.setMode('succeed');
      const done = await requestInstall(h2.socket, req, { timeoutMs: 10_000 });
      assert.equal(done.ok, true, JSON.stringify(done));
      assert.equal(h2.installedVersion(), '1.0.3');
      assert.ok(isAlive(impostor.pid!), "another user's process is neither waited for nor killed");
    } finally {
      impostor.kill('SIGKILL');
      await gone;
    }
  });

  it('sweeps at start the partial copy a helper killed during staging left behind', async () => {
    const h1 = await start({ installed: '1.0.2' });
    const big = makePkg(work, '1.0.5', 48 * 1024 * 1024);
    const m = signedManifest([releaseOf(big), releaseOf(makePkg(work, '1.0.2'))], [key]);
    mkdirSync(h1.staging, { recursive: true, mode: 0o700 });
    const copying = new Promise<void>((resolve) => {
      const w = watch(h1.staging, () => {
        w.close();
        resolve();
      });
    });
    const pending = requestInstall(
      h1.socket,
      { manifest: m, version: '1.0.5', pkg_path: big.path },
      { timeoutMs: 30_000 },
    ).catch((e: unknown) => e);
    await copying;
    await kill9(h1);
    await pending;
    const left = readdirSync(h1.staging);
    assert.equal(left.length, 1, 'the kill left a staged copy');
    const size = statSync(join(h1.staging, left[0]!)).size;
    assert.ok(size <= big.size, `${size}`);

    const h2 = await start({ dir: h1.dir });
    assert.deepEqual(h2.stagedFiles(), [], 'swept before the helper says it listens');
    assert.ok(readFileSync(h2.logFile, 'utf8').includes('removed 1 stale staged copy'));
  });
});
