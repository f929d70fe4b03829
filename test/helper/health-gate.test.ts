/**
 * The health gate end to end (#19), with the real helper and agent bins, a loopback HTTPS CDN and
 * the stand-in installer (it writes the version it installed): a healthy N commits; an N that
 * never checks in, or crash-loops, is rolled back to P from the package the helper kept; a
 * tampered kept package installs nothing; a quarantined N is never offered again while N+1 is;
 * a kill -9 of the helper mid-rollback converges on restart.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sendHealth } from '../../helper/client.js';
import { routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { startAgent } from '../agent/process.js';
import { isAlive, newKey, releaseOf, signedManifest, startHelper, until } from './harness.js';
import { agentFlags, macOn103 as macOn103With, type GateMac } from './gate-mac.js';
import { libfaketime } from '../support/libfaketime.js';

const key = newKey();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

type Mac = GateMac;
const macOn103 = (extraArgs: string[], env: Record<string, string> = {}) => macOn103With(key, cleanup, extraArgs, env);

/** A loopback CDN whose manifest offers `versions`, and the agent's flags for it. */
async function cdnFor(mac: Mac, versions: string[]): Promise<{ cdn: TestServer; args: string[] }> {
  let manifest = '';
  const files: Record<string, ReturnType<typeof servePackage>> = {};
  for (const v of versions) files[`/pkgs/${v}.pkg`] = servePackage(readFileSync(mac.pkgs[v]!.path));
  const cdn = await startHttpsServer(
    routes({ ...files, '/latest.json': (req, res, srv) => servePackage(Buffer.from(manifest))(req, res, srv) }),
  );
  cleanup.push(() => cdn.close());
  manifest = signedManifest(
    versions.map((v) => ({ ...releaseOf(mac.pkgs[v]!), download_url: cdn.url(`/pkgs/${v}.pkg`) })),
    [key],
  );
  const args = agentFlags(mac, key, cdn.url('/latest.json'), 'gate-device');
  return { cdn, args };
}

describe('the health gate', () => {
  it('a healthy N commits: the relaunched agent is pending, checks at once and sends health_ok', async () => {
    const mac = await macOn103(['--health-deadline', '600']);
    const { args } = await cdnFor(mac, ['1.0.4']);
    // The agent on 1.0.3 installs 1.0.4 and exits for launchd.
    const first = startAgent(['run', ...args, '--first-delay', '0']);
    assert.equal((await first.exited).code, 0, first.stderr);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    assert.deepEqual(
      { ...mac.pending(), deadline: undefined, to_sha256: undefined },
      {
        from: '1.0.3',
        to: '1.0.4',
        to_sha256: undefined,
        deadline: undefined,
        deadline_s: 600,
        restarts: 0,
      },
    );
    // "launchd" starts 1.0.4: a first delay of an hour is skipped because it is pending.
    const relaunched = startAgent(['run', ...args, '--first-delay', '3600']);
    try {
      await until('health ok', () => mac.log().includes('SelfUpdate: health ok 1.0.4'), 20_000);
    } finally {
      relaunched.proc.kill('SIGTERM');
      await relaunched.exited;
    }
    assert.equal(mac.pending(), null);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    assert.match(
      readFileSync(join(mac.work, 'agent.log'), 'utf8'),
      /agent started \(pending: the helper waits for health_ok\); first check in 0\.0 s/,
    );
    assert.equal(mac.helper.invocations().length, 2, 'no rollback');
  });

  it('an N that never checks in is rolled back to P at the deadline, and N is quarantined while N+1 is offered', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    const t0 = performance.now();
    assert.equal((await mac.install('1.0.4')).ok, true);
    await until('rollback', () => mac.log().includes('rollback complete'), 20_000);
    const took = (performance.now() - t0) / 1000;
    assert.ok(took >= 2 && took < 8, `rolled back after ${took.toFixed(1)} s, deadline 2 s`);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.match(mac.log(), /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\)/);
    const calls = mac.helper.invocations();
    assert.equal(calls.length, 3, '1.0.3, 1.0.4, then 1.0.3 again');
    assert.equal(mac.pending(), null);

    // Never offered again, by the helper...
    const again = await mac.install('1.0.4');
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.error.code, 'VERSION_NOT_OFFERED');
    assert.match(!again.ok ? again.error.message : '', /rolled back on this Mac \(quarantined/);
    // ... nor by the agent's choose: with 1.0.4 alone it is up to date, with 1.0.5 it takes 1.0.5.
    const only104 = await cdnFor(mac, ['1.0.4']);
    const agent = startAgent(['check', '--once', '--json', ...only104.args]);
    await agent.exited;
    // check --once sends no start ping: the helper refuses it (above); the run loop asks first.
    const run = startAgent(['run', ...only104.args, '--first-delay', '0']);
    try {
      await until(
        "the run loop's check",
        () => readFileSync(join(mac.work, 'agent.log'), 'utf8').includes('(unchanged, 304) offers nothing newer'),
        20_000,
      );
    } finally {
      run.proc.kill('SIGTERM');
      await run.exited;
    }
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.helper.invocations().length, 3, 'the quarantined 1.0.4 is not installed again');
    const with105 = await cdnFor(mac, ['1.0.5', '1.0.4']);
    // (a fresh state folder: the stand-in CDN's ETag would answer 304 for the same-sized manifest)
    const newer = startAgent(['run', ...with105.args, '--first-delay', '0', '--state-dir', join(mac.work, 's2')]);
    assert.equal((await newer.exited).code, 0, newer.stderr);
    assert.equal(mac.helper.installedVersion(), '1.0.5', 'a newer release is offered normally');
  });

  it('a crash-looping N is rolled back after more than --health-max-restarts starts within --health-stable', async () => {
    const mac = await macOn103(['--health-deadline', '600', '--health-max-restarts', '2', '--health-stable', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    // The real agent bin, started and killed before it can prove anything (its CDN is down).
    const down = ['--manifest-url', 'https://127.0.0.1:9/latest.json', '--trusted-key', key.public_key];
    const common = ['--version-file', mac.helper.versionFile, '--helper-socket', mac.helper.socket];
    for (let i = 1; i <= 3; i++) {
      const a = startAgent([
        'run',
        ...down,
        ...common,
        '--state-dir',
        join(mac.work, 'st'),
        '--log-file',
        join(mac.work, 'crash.log'),
      ]);
      await until(
        `start ${i} counted`,
        () => (i === 3 ? mac.log().includes('SelfUpdate: rollback 1.0.4') : mac.pending()?.['restarts'] === i),
        20_000,
      );
      a.proc.kill('SIGKILL');
      await a.exited;
    }
    await until('rollback', () => mac.log().includes('rollback complete'), 20_000);
    assert.match(mac.log(), /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(3 starts within 600 s, more than 2\)/);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
  });

  it('check --once sends no started: scripted checks of a pending N are not agent starts (no crash loop, no rollback)', async () => {
    // One start more than this is a crash loop: were check --once a start, its second run would roll 1.0.4 back.
    const mac = await macOn103(['--health-deadline', '600', '--health-max-restarts', '1', '--health-stable', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    const { args } = await cdnFor(mac, ['1.0.4']);
    for (let i = 1; i <= 3; i++) {
      const r = startAgent(['check', '--once', '--json', ...args]);
      assert.equal((await r.exited).code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { outcome: string }).outcome, 'up-to-date');
    }
    assert.equal(mac.pending()?.['restarts'], 0, 'no start counted');
    assert.doesNotMatch(mac.log(), /counted start|SelfUpdate: rollback/);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
    // run does send it: its start is counted (and, pending, it checks at once and commits 1.0.4).
    const run = startAgent(['run', ...args, '--first-delay', '3600']);
    try {
      await until('health ok', () => mac.log().includes('SelfUpdate: health ok 1.0.4'), 20_000);
    } finally {
      run.proc.kill('SIGTERM');
      await run.exited;
    }
    assert.match(mac.log(), /helper counted start 1 of pending 1\.0\.4/);
    assert.equal(mac.helper.invocations().length, 2, 'no rollback');
  });

  it('a tampered kept package installs nothing and the log says why', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    const kept = join(mac.helper.dir, 'state', 'kept', '1.0.3.pkg');
    writeFileSync(kept, Buffer.concat([readFileSync(kept), Buffer.from('evil')]));
    await until('refusal', () => mac.log().includes('refused'), 20_000);
    assert.match(
      mac.log(),
      /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\) refused: .*1\.0\.3\.pkg is not the package kept .*; nothing installed, 1\.0\.4 stays/,
    );
    assert.equal(mac.helper.invocations().length, 2, 'the installer never ran on it');
    assert.equal(mac.helper.installedVersion(), '1.0.4');
  });

  it('a wall clock a day ahead or behind triggers nothing: the deadline runs on the monotonic clock', async () => {
    // libfaketime moves the helper's wall clock (not its monotonic clock) while N is pending.
    const preload = libfaketime(); // fails naming apt-get install faketime when it is missing
    for (const jump of ['+1d', '-1d']) {
      const clock = join(mkdtempSync(join(tmpdir(), 'mngd-clock-')), 'faketime');
      writeFileSync(clock, '+0\n');
      const mac = await macOn103(['--health-deadline', '30'], {
        LD_PRELOAD: preload,
        FAKETIME_TIMESTAMP_FILE: clock,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
      assert.equal((await mac.install('1.0.4')).ok, true);
      writeFileSync(clock, `${jump}\n`);
      const r = await sendHealth(mac.helper.socket, 'started', '1.0.4');
      assert.equal(r.ok && r.pending, true);
      // The helper's log line for `started` carries the moved date (its log is written after the reply).
      const day = new Date(Date.now() + (jump === '+1d' ? 1 : -1) * 86_400_000).toISOString().slice(0, 10);
      await until('the jump to reach the helper', () => mac.log().includes(day), 20_000);
      assert.doesNotMatch(mac.log(), /SelfUpdate: rollback/);
      assert.equal(mac.helper.installedVersion(), '1.0.4');
    }
  });

  it('kill -9 of the helper mid-rollback converges on restart', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    mac.helper.setMode('hang');
    await until('the rollback installer', () => existsSync(mac.helper.pidFile), 20_000);
    assert.equal(mac.pending()?.['rolling_back'], 'no health_ok within 2 s');
    mac.helper.proc.kill('SIGKILL');
    await mac.helper.exited;
    const [pid] = readFileSync(mac.helper.pidFile, 'utf8').trim().split(' ').map(Number);
    try {
      process.kill(-pid!, 'SIGKILL'); // the installer the killed helper left (faults22's marker reaps it on a Mac)
    } catch {
      // gone
    }
    await until('installer gone', () => !isAlive(pid!));
    mac.helper.setMode('succeed');
    const restarted = await startHelper({ key, dir: mac.helper.dir, extraArgs: ['--health-deadline', '2'] });
    cleanup.push(() => restarted.stop());
    await until('rollback complete', () => mac.log().includes('rollback complete'), 20_000);
    assert.match(mac.log(), /resumes the rollback 1\.0\.4 -> 1\.0\.3/);
    assert.equal(restarted.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null);
    assert.deepEqual(JSON.parse(readFileSync(join(mac.helper.dir, 'state', 'quarantine.json'), 'utf8')), {
      versions: ['1.0.4'],
    });
  });

  it("SIGTERM during the rollback's reinstall: the helper stops once that installer has ended, the rollback recorded completed", async () => {
    const hold = join(mkdtempSync(join(tmpdir(), 'mngd-hold-')), 'hold');
    const mac = await macOn103(['--health-deadline', '2', '--installer-timeout', '120'], { STANDIN_HOLD_FILE: hold });
    assert.equal((await mac.install('1.0.4')).ok, true);
    writeFileSync(hold, ''); // the rollback's installer waits for it
    await until("the rollback's installer", () => mac.helper.invocations().length === 3, 20_000);
    // What the log says when the helper says it stopped (its close() resolved).
    const atStop = new Promise<string>((resolve) =>
      mac.helper.proc.stdout!.on(
        'data',
        (c: Buffer) => c.toString().includes('mngd-helper: stopped') && resolve(mac.log()),
      ),
    );
    mac.helper.proc.kill('SIGTERM');
    await until('the stop', () => mac.log().includes('helper stopping on SIGTERM'), 20_000);
    rmSync(hold);
    assert.match(await atStop, /helper stopping on SIGTERM[^]*SelfUpdate: rollback complete: 1\.0\.3 installed again/);
    assert.equal(await mac.helper.exited, 0);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.pending(), null, 'recorded completed before the helper exited');
    assert.equal(mac.outbox()?.events.at(-1)?.id, 'rollback-1_0_4');
  });
});
