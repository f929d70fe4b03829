/**
 * Who is asking (issue 20, holes 4 and 5), as another local user attacks it: uid 1001 (`setpriv`,
 * its group 65534, the socket's, like the agent's uid 65534) tries to pass for the agent's uid
 * (reading the challenge file directly, through a symbolic link, through a hard link, sending a
 * made-up proof or the proof of an earlier connection, a proof with no prove), and to use up the
 * helper for the agent (a burst of requests proven or not, requests held in progress behind a
 * running install), and to drop the health gate's outcomes before the agent queues them for the
 * fleet (events_ack). Each is refused and the agent (uid 65534) is still served; no challenge file
 * outlives its connection or the helper.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestInstall, sendHealth } from '../../helper/client.js';
import { outcomeEvent } from '../../helper/outbox.js';
import {
  deviceIdFor,
  makePkg,
  newKey,
  peerExchange,
  releaseOf,
  requestAsUid,
  signedManifest,
  startHelper,
  until,
  type HelperProcess,
  type PeerResult,
} from './harness.js';
import { macOn103, type GateMac } from './gate-mac.js';

const AGENT = 65534;
const OTHER = 1001;
const attacker = { uid: OTHER, gid: AGENT };
const key = newKey();

/** A helper whose 0660 socket (group 65534) both users reach. */
async function helperForUsers(opts: { idleTimeout?: number; installerTimeout?: number; dir?: string } = {}) {
  const h = await startHelper({
    key,
    installed: opts.dir === undefined ? '1.0.2' : undefined,
    deviceId: opts.dir === undefined ? deviceIdFor('1.0.3', 100) : undefined,
    idleTimeout: opts.idleTimeout,
    installerTimeout: opts.installerTimeout,
    dir: opts.dir,
    extraArgs: ['--socket-group', String(AGENT)],
  });
  chmodSync(h.dir, 0o755);
  chmodSync(join(h.dir, 'run'), 0o755);
  return h;
}

function codes(results: PeerResult[]): string[] {
  return results.map((r) => (r.reply === null ? `closed (${r.error ?? ''})` : r.reply.ok ? 'ok' : r.reply.error!.code));
}

describe("another uid passing for the agent's uid", () => {
  let helper: HelperProcess;
  let work: string;
  let scratch: string;
  let install: object;
  let proofs: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-peer-'));
    chmodSync(work, 0o755);
    // The agent's download, in its own folder, owned by it.
    const home = join(work, 'agent-home');
    mkdirSync(home, { mode: 0o700 });
    const pkg = makePkg(home, '1.0.3');
    chownSync(pkg.path, AGENT, AGENT);
    chownSync(home, AGENT, AGENT);
    install = {
      type: 'install',
      manifest: signedManifest([releaseOf(pkg)], [key]),
      version: '1.0.3',
      pkg_path: pkg.path,
    };
    // A folder the attacker may write, for its links.
    scratch = join(work, 'attacker');
    mkdirSync(scratch, { mode: 0o755 });
    chownSync(scratch, OTHER, AGENT);
    helper = await helperForUsers({ idleTimeout: 2 });
    proofs = `${helper.socket}.proofs`;
  });
  after(async () => {
    await helper.stop();
    rmSync(helper.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("cannot read the challenge handed to the agent's uid, directly or through a link, and a made-up proof installs nothing", async () => {
    const [r] = await peerExchange(helper.socket, work, attacker, {
      request: install,
      claim: AGENT,
      steal: ['read', 'symlink', 'hardlink'],
      scratch,
      proof: '0'.repeat(64),
    });
    assert.equal(r!.challenge?.ok, true, JSON.stringify(r));
    // Mode 0400 and the agent's: not readable through any name (a hard link is refused outright
    // by fs.protected_hardlinks here; on a Mac it is made, and is just as unreadable).
    assert.equal(r!.attempts['read'], 'EACCES');
    assert.equal(r!.attempts['symlink'], 'EACCES');
    assert.ok(['EPERM', 'EACCES'].includes(r!.attempts['hardlink']!), JSON.stringify(r!.attempts));
    assert.equal(r!.reply?.error?.code, 'PEER_UNPROVEN', JSON.stringify(r!.reply));
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
    assert.equal(helper.installedVersion(), '1.0.2');
  });

  it('cannot reuse the proof of an earlier connection, for its own uid or for the agent', async () => {
    const [own] = await peerExchange(helper.socket, work, attacker, { request: { type: 'ping' }, claim: 'self' });
    assert.equal(own!.reply?.ok, true, JSON.stringify(own));
    const stale = own!.proof!;
    const replays = await peerExchange(helper.socket, work, attacker, {
      request: install,
      claim: AGENT,
      steal: [],
      proof: stale,
    });
    const again = await peerExchange(helper.socket, work, attacker, {
      request: { type: 'ping' },
      claim: 'self',
      steal: [],
      proof: stale,
    });
    assert.deepEqual(codes([...replays, ...again]), ['PEER_UNPROVEN', 'PEER_UNPROVEN']);
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
  });

  it('refuses a proof that came with no prove on its connection', async () => {
    const r = await peerExchange(helper.socket, work, attacker, { request: { type: 'ping' }, proof: 'a'.repeat(64) });
    assert.deepEqual(codes(r), ['PEER_UNPROVEN']);
  });

  it('keeps the challenge files in a folder of root, reachable by the socket group only, and none outlives its connection', async () => {
    const st = statSync(proofs);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, AGENT);
    assert.equal(st.mode & 0o7777, 0o710);
    // A proof never answered: the idle time-out closes the connection, and the file goes with it.
    const [silent] = await peerExchange(helper.socket, work, attacker, {
      request: { type: 'ping' },
      claim: 'self',
      silent: true,
    });
    assert.equal(silent!.reply?.error?.code, 'IDLE_TIMEOUT', JSON.stringify(silent));
    await until('no challenge file is left', () => readdirSync(proofs).length === 0);
  });

  it('sweeps the challenge files a stopped helper left, and refuses to start over anything else at that path', async () => {
    await helper.stop();
    writeFileSync(join(proofs, 'left-by-a-killed-helper'), 'x');
    helper = await helperForUsers({ idleTimeout: 2, dir: helper.dir });
    assert.deepEqual(readdirSync(proofs), []);
    // Something else at the path (here a file): serve does not start (exit 3), rather than use it.
    const other = mkdtempSync(join(tmpdir(), 'mngd-peer-'));
    try {
      mkdirSync(join(other, 'run'));
      writeFileSync(join(other, 'run', 'helper.sock.proofs'), 'not a folder');
      await assert.rejects(startHelper({ key, dir: other, installed: '1.0.2' }), /exited with 3[^]*proof folder/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('one uid using up the helper for another', () => {
  let helper: HelperProcess;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-peer-limits-'));
    chmodSync(work, 0o755);
    helper = await helperForUsers({ installerTimeout: 5 });
  });
  after(async () => {
    await helper.stop();
    rmSync(helper.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("refuses a burst of one uid's requests past its share, and serves the agent's uid at once", async () => {
    const burst = await peerExchange(helper.socket, work, attacker, {
      request: { type: 'ping' },
      claim: 'self',
      times: 26,
    });
    const got = codes(burst);
    assert.equal(got[0], 'ok');
    const refused = burst.filter((r) => r.reply?.error?.code === 'BUSY');
    assert.ok(refused.length >= 4, got.join(' '));
    assert.match(refused[0]!.reply!.error!.message, /uid 1001 sent more than 20 requests in a row/);
    const agent = await requestAsUid(helper.socket, work, AGENT, { type: 'ping' });
    assert.equal(agent.ok, true, JSON.stringify(agent));
  });

  it('gives clients that prove nothing one share together: skipping the proof buys no more', async () => {
    const burst = await peerExchange(helper.socket, work, attacker, { request: { type: 'ping' }, times: 26 });
    const refused = burst.filter((r) => r.reply?.error?.code === 'BUSY');
    assert.ok(refused.length >= 4, codes(burst).join(' '));
    assert.match(refused[0]!.reply!.error!.message, /proved no uid/);
    const agent = await requestAsUid(helper.socket, work, AGENT, { type: 'ping' });
    assert.equal(agent.ok, true, JSON.stringify(agent));
  });

  it('holds one uid to 4 requests in progress while an install runs', async () => {
    const pkg = makePkg(work, '1.0.3');
    const manifest = signedManifest([releaseOf(pkg)], [key]);
    helper.setMode('hang');
    // The agent's install (root here) holds the install lock until the installer's time-out.
    const installing = requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: pkg.path });
    await until('the installer runs', () => helper.invocations().length > 0 || statSafe(helper.pidFile));
    // Manifest requests wait for that lock, each holding a connection that a full table cannot close.
    // A third uid, whose share no earlier test used.
    const held = await peerExchange(
      helper.socket,
      work,
      { uid: OTHER + 1, gid: AGENT },
      {
        request: { type: 'manifest', manifest },
        claim: 'self',
        parallel: 8,
      },
    );
    const inProgress = held.filter((r) =>
      /uid 1002 already has 4 requests in progress/.test(r.reply?.error?.message ?? ''),
    );
    assert.equal(inProgress.length, 4, codes(held).join(' '));
    const done = await installing;
    assert.equal(done.ok ? 'installed' : done.error.code, 'INSTALLER_TIMEOUT');
  });
});

describe("another uid acknowledging the health gate's outcomes (events_ack) in the agent's place", () => {
  let helper: HelperProcess;
  let work: string;
  const rollback = outcomeEvent({
    kind: 'rollback',
    from: '1.0.4',
    to: '1.0.3',
    result: 'ok',
    code: 'HEALTH_DEADLINE',
    ms: 1200,
    at: new Date('2026-12-05T10:00:00Z'),
  });
  const outbox = () =>
    JSON.parse(readFileSync(join(helper.dir, 'state', 'outbox.json'), 'utf8')) as { events: unknown[] };
  const ack = { type: 'events_ack', ids: [rollback.id] };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-peer-ack-'));
    chmodSync(work, 0o755);
    helper = await helperForUsers();
    // A rollback the gate recorded, waiting for the agent to queue it for the fleet.
    writeFileSync(join(helper.dir, 'state', 'outbox.json'), `${JSON.stringify({ events: [rollback] })}\n`, {
      mode: 0o600,
    });
  });
  after(async () => {
    await helper.stop();
    rmSync(helper.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses uid 1001, proven or not, and drops nothing: the rollback is still handed to the agent', async () => {
    const proven = await requestAsUid(helper.socket, work, OTHER, ack, { gid: AGENT });
    assert.equal(proven.error?.code, 'PEER_UNPROVEN', JSON.stringify(proven));
    assert.match(proven.error!.message, /uid 1001 is not the agent's uid 65534 \(--agent-user\): nothing dropped/);
    const unproven = await requestAsUid(helper.socket, work, OTHER, ack, { gid: AGENT, proven: false });
    assert.equal(unproven.error?.code, 'PEER_UNPROVEN', JSON.stringify(unproven));
    assert.match(unproven.error!.message, /needs the proof of the agent's uid 65534/);
    assert.deepEqual(outbox().events, [rollback]);
    const started = await sendHealth(helper.socket, 'started', '1.0.3');
    assert.equal(started.ok, true, JSON.stringify(started));
    assert.deepEqual(started.ok ? started.events : [], [rollback]);
  });

  it("takes the agent's uid (nobody, the default --agent-user) once it proves it: then the outcome goes", async () => {
    const agent = await requestAsUid(helper.socket, work, AGENT, ack, { gid: AGENT });
    assert.equal(agent.ok, true, JSON.stringify(agent));
    assert.deepEqual(outbox().events, []);
  });
});

describe("another uid telling the health gate started or health_ok in the agent's place", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let mac: GateMac;
  let work: string;
  const rollbackOf104 = () => mac.outbox()?.events.find((e) => e.id === 'rollback-1_0_4');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-peer-gate-'));
    chmodSync(work, 0o755);
    // 1.0.4 pending over 1.0.3 (kept): one start past --health-max-restarts is a crash loop.
    mac = await macOn103(key, cleanup, ['--socket-group', String(AGENT), '--health-max-restarts', '1']);
    chmodSync(mac.helper.dir, 0o755);
    chmodSync(join(mac.helper.dir, 'run'), 0o755);
    assert.equal((await mac.install('1.0.4')).ok, true);
    assert.equal(mac.pending()?.['to'], '1.0.4');
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses health_ok from uid 1001, proven or not: 1.0.4 is not committed, its deadline still stands', async () => {
    const ok = { type: 'health_ok', version: '1.0.4' };
    const proven = await requestAsUid(mac.helper.socket, work, OTHER, ok, { gid: AGENT });
    assert.equal(proven.error?.code, 'PEER_UNPROVEN', JSON.stringify(proven));
    assert.match(
      proven.error!.message,
      /health_ok is the agent's: uid 1001 is not the agent's uid 65534 \(--agent-user\): nothing committed/,
    );
    const unproven = await requestAsUid(mac.helper.socket, work, OTHER, ok, { gid: AGENT, proven: false });
    assert.equal(unproven.error?.code, 'PEER_UNPROVEN', JSON.stringify(unproven));
    assert.deepEqual(mac.pending()?.['to'], '1.0.4', 'still pending');
    assert.equal(mac.outbox()?.events.some((e) => e.id === 'health-1_0_4') ?? false, false, 'no health event');
    assert.doesNotMatch(mac.log(), /health ok 1\.0\.4/);
  });

  it('refuses started from uid 1001: no start is counted, so it cannot force a crash-loop rollback', async () => {
    const started = { type: 'started', version: '1.0.4' };
    for (let i = 0; i < 3; i++) {
      const r = await requestAsUid(mac.helper.socket, work, OTHER, started, { gid: AGENT });
      assert.equal(r.error?.code, 'PEER_UNPROVEN', JSON.stringify(r));
      assert.match(r.error!.message, /no start counted/);
    }
    assert.equal(mac.pending()?.['restarts'], 0);
    assert.equal(mac.pending()?.['rolling_back'], undefined);
    assert.equal(rollbackOf104(), undefined);
    assert.equal(mac.helper.installedVersion(), '1.0.4');
  });

  it("takes them from the agent's uid (65534) once it proves it: its start is counted, its health_ok commits 1.0.4", async () => {
    const started = await requestAsUid(
      mac.helper.socket,
      work,
      AGENT,
      { type: 'started', version: '1.0.4' },
      { gid: AGENT },
    );
    assert.equal(started.ok, true, JSON.stringify(started));
    assert.equal(mac.pending()?.['restarts'], 1);
    const ok = await requestAsUid(
      mac.helper.socket,
      work,
      AGENT,
      { type: 'health_ok', version: '1.0.4' },
      { gid: AGENT },
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(mac.pending(), null, 'committed');
    assert.equal(mac.helper.installedVersion(), '1.0.4');
  });
});

describe("another uid's install over a pending N (not N's proof of health)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let work: string;
  const health104 = (mac: GateMac) => mac.outbox()?.events.find((e) => e.id === 'health-1_0_4');

  /** 1.0.4 pending over 1.0.3 (kept), the socket reachable by uid 1001 and the agent's uid. */
  async function pending104(): Promise<GateMac> {
    const mac = await macOn103(key, cleanup, ['--socket-group', String(AGENT), '--health-deadline', '600']);
    chmodSync(mac.helper.dir, 0o755);
    chmodSync(join(mac.helper.dir, 'run'), 0o755);
    assert.equal((await mac.install('1.0.4')).ok, true);
    return mac;
  }

  /** 1.0.5's install, its package a copy owned by `uid` (a download of its own). */
  function install105(mac: GateMac, uid: number): object {
    const home = mkdtempSync(join(work, `home-${uid}-`));
    const path = join(home, 'mngd-agent-1.0.5.pkg');
    writeFileSync(path, readFileSync(mac.pkgs['1.0.5']!.path));
    chownSync(path, uid, AGENT);
    chownSync(home, uid, AGENT);
    const manifest = signedManifest([releaseOf(mac.pkgs['1.0.5']!)], [key]);
    return { type: 'install', manifest, version: '1.0.5', pkg_path: path };
  }

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'mngd-peer-over-'));
    chmodSync(work, 0o755);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(work, { recursive: true, force: true });
  });

  it('from uid 1001: 1.0.5 installs, but no health event for 1.0.4 and 1.0.3 stays the version to roll back to', async () => {
    const mac = await pending104();
    const r = await requestAsUid(mac.helper.socket, work, OTHER, install105(mac, OTHER), { gid: AGENT });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(mac.helper.installedVersion(), '1.0.5');
    assert.equal(health104(mac), undefined, 'no health event for 1.0.4');
    assert.doesNotMatch(mac.log(), /health ok 1\.0\.4/);
    assert.match(mac.log(), /the install of 1\.0\.5 over the pending 1\.0\.4 is not the agent's/);
    assert.deepEqual([mac.pending()?.['from'], mac.pending()?.['to']], ['1.0.3', '1.0.5']);
    assert.deepEqual(
      readdirSync(join(mac.helper.dir, 'state', 'kept'))
        .filter((f) => f.endsWith('.pkg'))
        .sort(),
      ['1.0.3.pkg', '1.0.5.pkg'],
    );
  });

  it('from uid 1001, its installer failing: 1.0.4 is pending over 1.0.3 again (no health event)', async () => {
    const mac = await pending104();
    mac.helper.setMode('fail');
    const r = await requestAsUid(mac.helper.socket, work, OTHER, install105(mac, OTHER), { gid: AGENT });
    assert.equal(r.error?.code, 'INSTALLER_FAILED', JSON.stringify(r));
    assert.deepEqual([mac.pending()?.['from'], mac.pending()?.['to']], ['1.0.3', '1.0.4']);
    assert.equal(health104(mac), undefined, 'no health event for 1.0.4');
    const started = await sendHealth(mac.helper.socket, 'started', '1.0.4');
    assert.equal(started.ok && started.pending, true, JSON.stringify(started));
  });

  it("from the agent's uid (65534): 1.0.4's updater works, so 1.0.4 is committed and is the version to roll back to", async () => {
    const mac = await pending104();
    const r = await requestAsUid(mac.helper.socket, work, AGENT, install105(mac, AGENT), { gid: AGENT });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(health104(mac)?.kind, 'health');
    assert.deepEqual([mac.pending()?.['from'], mac.pending()?.['to']], ['1.0.4', '1.0.5']);
  });
});

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
