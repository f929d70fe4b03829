/**
 * The real `mngd-helper serve` on a real socket with the real stand-in installer: what it
 * refuses (and that it keeps serving with nothing installed), and the one success path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ping, requestInstall } from '../../helper/client.js';
import type { InstallResponse, ErrorReply } from '../../helper/protocol.js';
import { OUTPUT_TAIL_BYTES } from '../../helper/protocol.js';
import {
  isAlive,
  makePkg,
  deviceIdFor,
  newKey,
  rawExchange,
  releaseOf,
  signedManifest,
  startHelper,
  until,
  type HelperProcess,
  type TestPkg,
} from './harness.js';

const key = newKey();
let helper: HelperProcess;
let work: string;
let pkg103: TestPkg;
let pkg101: TestPkg;
let manifest: string;

function refused(reply: InstallResponse): ErrorReply {
  assert.equal(reply.ok, false, `expected a refusal, got ${JSON.stringify(reply)}`);
  return reply as ErrorReply;
}

/** Nothing installed: the stand-in never ran, the version is unchanged, staging is empty. */
async function assertNothingInstalled(callsBefore: number): Promise<void> {
  assert.equal(helper.invocations().length, callsBefore, 'the installer must not have been invoked');
  assert.equal(helper.installedVersion(), '1.0.2');
  assert.deepEqual(helper.stagedFiles(), []);
  const p = await ping(helper.socket);
  assert.equal(p.ok, true, 'the helper must still be serving');
}

describe('mngd-helper serve', () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-helper-pkgs-'));
    pkg103 = makePkg(work, '1.0.3', 200_000);
    pkg101 = makePkg(work, '1.0.1');
    helper = await startHelper({
      key,
      installed: '1.0.2',
      installerTimeout: 3,
      idleTimeout: 0.5,
      env: { STANDIN_FLOOD_BYTES: '2000000' },
      deviceId: deviceIdFor('1.0.3', 10), // in the 10 % cohort of 1.0.3: the helper checks it itself
    });
    // 1.0.3 and 1.0.2 staged at 10 %, so the manifest lists down to 1.0.1 (at 100 %).
    manifest = signedManifest([releaseOf(pkg103, 10), releaseOf(makePkg(work, '1.0.2'), 10), releaseOf(pkg101)], [key]);
  });
  after(async () => {
    await helper.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });

  it('listens on a socket only its owner may use (mode 0600)', () => {
    const st = statSync(helper.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('answers a ping with the installed version', async () => {
    const reply = await ping(helper.socket, { id: 'p1' });
    assert.deepEqual(reply, { v: 1, id: 'p1', ok: true, installed_version: '1.0.2' });
  });

  it('refuses a manifest signed by a key it does not trust (forged)', async () => {
    const forged = signedManifest([releaseOf(pkg103)], [newKey()]);
    const reply = refused(
      await requestInstall(helper.socket, { manifest: forged, version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_SIGNATURE');
    await assertNothingInstalled(0);
  });

  it('refuses a manifest whose signed part was altered after signing', async () => {
    const doc = JSON.parse(manifest) as { signed: { releases: { sha256: string }[] } };
    doc.signed.releases[0]!.sha256 = 'f'.repeat(64);
    const reply = refused(
      await requestInstall(helper.socket, { manifest: JSON.stringify(doc), version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_SIGNATURE');
    await assertNothingInstalled(0);
  });

  it('refuses an expired manifest (a signed copy from history/, replayed), with a sequence above any seen', async () => {
    const old = new Date(Date.now() - 60 * 86_400_000);
    const expired = signedManifest([releaseOf(pkg103), releaseOf(pkg101)], [key], 'stable', old);
    const reply = refused(
      await requestInstall(helper.socket, { manifest: expired, version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_EXPIRED');
    await assertNothingInstalled(0);
  });

  it("refuses another channel's manifest that offers the version to everyone", async () => {
    const beta = signedManifest([{ ...releaseOf(pkg103), channel: 'beta' }], [key], 'beta');
    const reply = refused(
      await requestInstall(helper.socket, { manifest: beta, version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_CHANNEL');
    await assertNothingInstalled(0);
  });

  it('refuses an unsigned manifest', async () => {
    const doc = JSON.parse(manifest) as { signatures: unknown[] };
    doc.signatures = [];
    const reply = refused(
      await requestInstall(helper.socket, { manifest: JSON.stringify(doc), version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_SCHEMA');
    await assertNothingInstalled(0);
  });

  it('refuses a version the manifest does not offer', async () => {
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.4', pkg_path: pkg103.path }));
    assert.equal(reply.error.code, 'VERSION_NOT_IN_MANIFEST');
    await assertNothingInstalled(0);
  });

  it('refuses a downgrade and a reinstall of the installed version', async () => {
    const down = refused(await requestInstall(helper.socket, { manifest, version: '1.0.1', pkg_path: pkg101.path }));
    assert.equal(down.error.code, 'NOT_AN_UPGRADE');
    const same = refused(await requestInstall(helper.socket, { manifest, version: '1.0.2', pkg_path: pkg101.path }));
    assert.equal(same.error.code, 'NOT_AN_UPGRADE');
    await assertNothingInstalled(0);
  });

  it('refuses a package swapped after the agent verified it (its own hash of the copy)', async () => {
    const path = join(work, 'swapped.pkg');
    const original = readFileSync(pkg103.path);
    const evil = Buffer.from(original);
    evil[evil.length - 1] = evil[evil.length - 1]! ^ 0xff; // same size, other bytes
    writeFileSync(path, evil);
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: path }));
    assert.equal(reply.error.code, 'PKG_REFUSED');
    await assertNothingInstalled(0);
  });

  it('refuses a package of another size', async () => {
    const path = join(work, 'short.pkg');
    writeFileSync(path, readFileSync(pkg103.path).subarray(0, 1000));
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: path }));
    assert.equal(reply.error.code, 'PKG_REFUSED');
    // Not an oracle: the helper reads files as root that its client may not, so their size is never echoed.
    assert.doesNotMatch(reply.error.message, /\b1000\b/, reply.error.message);
    await assertNothingInstalled(0);
  });

  it('refuses a symbolic link as the package path, even to the right package', async () => {
    const link = join(work, 'link.pkg');
    symlinkSync(pkg103.path, link);
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: link }));
    assert.equal(reply.error.code, 'PKG_REFUSED');
    await assertNothingInstalled(0);
  });

  it('refuses a package path that is not a regular file', async () => {
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: work }));
    assert.equal(reply.error.code, 'PKG_REFUSED');
    await assertNothingInstalled(0);
  });

  it('answers malformed JSON with BAD_REQUEST and closes that connection', async () => {
    const { text } = await rawExchange(helper.socket, '{"v":1,"id":"x","type":\n');
    const reply = JSON.parse(text.trim()) as ErrorReply;
    assert.equal(reply.ok, false);
    assert.equal(reply.error.code, 'BAD_REQUEST');
    assert.equal(reply.id, null);
    await assertNothingInstalled(0);
  });

  it('never acts on lines pipelined after a malformed one', async () => {
    const install = JSON.stringify({
      v: 1,
      id: 'after-bad',
      type: 'install',
      manifest,
      version: '1.0.3',
      pkg_path: pkg103.path,
    });
    const { text } = await rawExchange(helper.socket, `not json\n${install}\n`);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]!) as ErrorReply).error.code, 'BAD_REQUEST');
    await assertNothingInstalled(0);
  });

  it('times out a client that trickles a request byte by byte', async () => {
    const { createConnection } = await import('node:net');
    const c = createConnection({ path: helper.socket });
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setInterval(() => c.write(' '), 50);
    await new Promise((r) => c.on('close', r));
    clearInterval(timer);
    assert.equal((JSON.parse(text.trim()) as ErrorReply).error.code, 'IDLE_TIMEOUT');
  });

  it('answers an unknown protocol version with UNSUPPORTED_VERSION', async () => {
    const { text } = await rawExchange(helper.socket, '{"v":2,"id":"x","type":"ping"}\n');
    const reply = JSON.parse(text.trim()) as ErrorReply;
    assert.equal(reply.error.code, 'UNSUPPORTED_VERSION');
    assert.equal(reply.id, 'x');
  });

  it('refuses a 3 MB request with REQUEST_TOO_LARGE, closes it, and keeps serving', async () => {
    const big =
      JSON.stringify({
        v: 1,
        id: 'big',
        type: 'install',
        manifest: 'x'.repeat(3 * 1024 * 1024),
        version: '1.0.3',
        pkg_path: pkg103.path,
      }) + '\n';
    const { text } = await rawExchange(helper.socket, big);
    const reply = JSON.parse(text.trim()) as ErrorReply;
    assert.equal(reply.error.code, 'REQUEST_TOO_LARGE');
    await assertNothingInstalled(0);
  });

  it('times out a client that connects and says nothing', async () => {
    const { text } = await rawExchange(helper.socket, null);
    const reply = JSON.parse(text.trim()) as ErrorReply;
    assert.equal(reply.error.code, 'IDLE_TIMEOUT');
    await assertNothingInstalled(0);
  });

  it('makes room for a 65th connection by closing the oldest of 64 silent ones (BUSY to it), and serves the newcomer', async () => {
    // A helper of its own, whose idle time-out cannot close any of the 64 before the 65th comes.
    const h = await startHelper({ key, installed: '1.0.2', idleTimeout: 60 });
    const { createConnection } = await import('node:net');
    try {
      const said: string[] = [];
      const open = await Promise.all(
        Array.from({ length: 64 }, (_, i) => {
          const c = createConnection({ path: h.socket });
          c.on('error', () => undefined);
          c.on('data', (d: Buffer) => (said[i] = (said[i] ?? '') + d.toString()));
          return new Promise<typeof c>((resolve) => c.once('connect', () => resolve(c)));
        }),
      );
      try {
        const reply = await ping(h.socket, { id: 'n65' });
        assert.equal(reply.ok, true, JSON.stringify(reply));
        await until('the oldest silent client to be told', () => said.some((t) => t !== undefined));
        const told = said.filter((t) => t !== undefined);
        assert.equal(told.length, 1, told.join('\n'));
        const busy = JSON.parse(told[0]!.trim()) as ErrorReply;
        assert.equal(busy.error.code, 'BUSY');
        assert.match(busy.error.message, /sent no request yet; send the request at once/);
      } finally {
        for (const c of open) c.destroy();
      }
    } finally {
      await h.stop();
      rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it('reports an installer that exits 1, with its exit code and output, and installs nothing', async () => {
    helper.setMode('fail');
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: pkg103.path }));
    assert.equal(reply.error.code, 'INSTALLER_FAILED');
    assert.equal(reply.exit_code, 1);
    assert.match(reply.output_tail ?? '', /stand-in fail mode/);
    await assertNothingInstalled(1);
  });

  it('keeps only a bounded tail of an installer flooding its output', async () => {
    helper.setMode('flood');
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: pkg103.path }));
    assert.equal(reply.error.code, 'INSTALLER_FAILED');
    const tail = reply.output_tail ?? '';
    assert.ok(tail.length <= OUTPUT_TAIL_BYTES + 100, `tail is ${tail.length} characters`);
    assert.match(tail, /FLOOD-END\n$/);
    assert.match(tail, /earlier bytes dropped/);
    await assertNothingInstalled(2);
  });

  it('kills a hanging installer and its children at the time-out, and answers BUSY to a second request meanwhile', async () => {
    helper.setMode('hang');
    rmSync(helper.pidFile, { force: true });
    const first = requestInstall(helper.socket, { id: 'first', manifest, version: '1.0.3', pkg_path: pkg103.path });
    await until(
      'the stand-in to hang',
      () => existsSync(helper.pidFile) && readFileSync(helper.pidFile, 'utf8').includes('\n'),
    );
    const second = refused(
      await requestInstall(helper.socket, { id: 'second', manifest, version: '1.0.3', pkg_path: pkg103.path }),
    );
    assert.equal(second.error.code, 'BUSY');
    assert.equal(second.id, 'second');
    const pong = await ping(helper.socket);
    assert.equal(pong.ok, true, 'a ping is answered while an install runs');
    const reply = refused(await first);
    assert.equal(reply.error.code, 'INSTALLER_TIMEOUT');
    const pids = readFileSync(helper.pidFile, 'utf8').trim().split(' ').map(Number);
    assert.equal(pids.length, 2);
    await until('the installer group to be gone', () => pids.every((p) => !isAlive(p)), 5000);
    await assertNothingInstalled(3);
  });

  it('installs a verified package: runs the installer with -pkg <staged copy> -target /, then removes the copy', async () => {
    helper.setMode('succeed');
    const reply = await requestInstall(helper.socket, { id: 'ok1', manifest, version: '1.0.3', pkg_path: pkg103.path });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.deepEqual(
      { ...reply, output_tail: undefined },
      { v: 1, id: 'ok1', ok: true, outcome: 'installed', version: '1.0.3', exit_code: 0, output_tail: undefined },
    );
    assert.match((reply as { output_tail: string }).output_tail, /The install was successful/);
    const calls = helper.invocations();
    assert.equal(calls.length, 4);
    const [flag, staged, target, slash] = calls[3]!;
    assert.equal(flag, '-pkg');
    assert.ok(staged!.startsWith(helper.staging + '/'), `${staged} is inside the staging folder`);
    assert.notEqual(staged, pkg103.path);
    assert.deepEqual([target, slash], ['-target', '/']);
    assert.equal(existsSync(staged!), false, 'the staged copy is removed');
    assert.equal(helper.installedVersion(), '1.0.3');
    const p = await ping(helper.socket);
    assert.equal(p.ok && p.installed_version, '1.0.3');
  });

  it('then refuses to install the same version again', async () => {
    const reply = refused(await requestInstall(helper.socket, { manifest, version: '1.0.3', pkg_path: pkg103.path }));
    assert.equal(reply.error.code, 'NOT_AN_UPGRADE');
  });

  it('refuses an older manifest than one it accepted before (rollback)', async () => {
    const older = signedManifest([releaseOf(makePkg(work, '1.0.9'))], [key], 'stable', new Date(Date.now() - 3600_000));
    const newer = signedManifest([releaseOf(makePkg(work, '1.0.9'))], [key]);
    assert.equal(
      refused(await requestInstall(helper.socket, { manifest: newer, version: '0.9', pkg_path: pkg101.path })).error
        .code,
      'VERSION_NOT_IN_MANIFEST',
    );
    const reply = refused(
      await requestInstall(helper.socket, { manifest: older, version: '1.0.9', pkg_path: pkg101.path }),
    );
    assert.equal(reply.error.code, 'MANIFEST_ROLLBACK');
  });

  it('escapes a newline in a package path so it cannot forge a log line', async () => {
    refused(
      await requestInstall(helper.socket, { manifest, version: '1.0.4', pkg_path: '/tmp/x\nSelfUpdate: forged.pkg' }),
    );
    const log = readFileSync(helper.logFile, 'utf8');
    assert.doesNotMatch(log, /^SelfUpdate: forged/m);
    assert.match(log, /\/tmp\/x\\x0aSelfUpdate: forged\.pkg/);
  });

  it('logs SelfUpdate lines with the versions and the outcome to its own log', () => {
    const log = readFileSync(helper.logFile, 'utf8');
    // Each line carries its level in the agent's column and words: a refusal is a WARN.
    const at = String.raw`^\d{4}-\d\d-\d\dT[\d:.]+Z`;
    assert.match(
      log,
      new RegExp(`${at} INFO mngd-helper\\[\\d+\\]: SelfUpdate: helper install requested 1\\.0\\.2 -> 1\\.0\\.3`, 'm'),
    );
    assert.match(
      log,
      new RegExp(
        `${at} WARN mngd-helper\\[\\d+\\]: SelfUpdate: helper install refused or failed 1\\.0\\.2 -> 1\\.0\\.3: PKG_REFUSED`,
        'm',
      ),
    );
    assert.match(
      log,
      new RegExp(
        `${at} WARN mngd-helper\\[\\d+\\]: SelfUpdate: helper install refused or failed 1\\.0\\.2 -> 1\\.0\\.3: INSTALLER_TIMEOUT`,
        'm',
      ),
    );
    assert.match(
      log,
      new RegExp(
        `${at} INFO mngd-helper\\[\\d+\\]: SelfUpdate: helper install complete 1\\.0\\.2 -> 1\\.0\\.3 \\(installer exit 0\\)$`,
        'm',
      ),
    );
    assert.ok(log.length < 64 * 1024, 'the flood is not copied into the log');
  });

  it('stops cleanly on SIGTERM and removes its socket', async () => {
    const code = await helper.stop();
    assert.equal(code, 0);
    assert.equal(existsSync(helper.socket), false);
  });
});
