/**
 * A file-existence oracle as root (issue 20, hole 5), as another uid probes: a process running as
 * uid 65534 (`setpriv`, its uid proven) names paths inside a folder only root can read — a file
 * that exists, one that does not, a link, a folder, a file of the right size, root's copy of the
 * very package the manifest lists — in install requests with a valid manifest. Every answer is the
 * same code and the same message, so nothing about the folder's content leaks. (Before:
 * PKG_NOT_FOUND, PKG_UNSAFE_PATH, PKG_SIZE_MISMATCH, PKG_HASH_MISMATCH, and root's copy installed.)
 * Then another user's package, in that user's own folder: refused to the prober, installed for
 * its owner.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deviceIdFor,
  makePkg,
  newKey,
  releaseOf,
  requestAsUid,
  signedManifest,
  startHelper,
  type HelperProcess,
  type TestPkg,
} from './harness.js';

const NOBODY = 65534;
/** another local user, in the socket's group (65534) like the agent */
const OTHER = 1001;

describe('another uid probing root-only folders through pkg_path', () => {
  const key = newKey();
  let helper: HelperProcess;
  let work: string;
  let secret: string;
  let pkg: TestPkg;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-oracle-'));
    chmodSync(work, 0o755);
    pkg = makePkg(work, '1.0.3');
    secret = join(work, 'root-only');
    mkdirSync(secret, { mode: 0o700 });
    writeFileSync(join(secret, 'exists'), 'a root secret\n');
    writeFileSync(join(secret, 'same-size'), Buffer.alloc(pkg.size, 1));
    symlinkSync('/etc/passwd', join(secret, 'link'));
    copyFileSync(pkg.path, join(secret, 'genuine'));
    mkdirSync(join(secret, 'folder'));
    helper = await startHelper({
      key,
      installed: '1.0.2',
      deviceId: deviceIdFor('1.0.3', 100),
      extraArgs: ['--socket-group', String(NOBODY)],
    });
    chmodSync(helper.dir, 0o755);
    chmodSync(join(helper.dir, 'run'), 0o755);
  });
  after(async () => {
    await helper.stop();
    rmSync(helper.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("gets one and the same refusal for a file that exists, one that does not, a link, a folder, a same-size file and root's copy of the package", async () => {
    const manifest = signedManifest([releaseOf(pkg)], [key]);
    const answers: string[] = [];
    for (const name of ['exists', 'missing', 'link', 'folder', 'same-size', 'genuine']) {
      const path = join(secret, name);
      const reply = await requestAsUid(helper.socket, work, NOBODY, {
        type: 'install',
        manifest,
        version: '1.0.3',
        pkg_path: path,
      });
      assert.equal(reply.ok, false, `${name}: ${JSON.stringify(reply)}`);
      answers.push(`${reply.error!.code}: ${reply.error!.message.replace(path, '<path>')}`);
    }
    assert.equal(new Set(answers).size, 1, answers.join('\n'));
    assert.match(answers[0]!, /^PKG_REFUSED: /);
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
  });

  it("refuses another user's package to a prober, and installs it for its owner", async () => {
    // The agent's download (uid 65534), in its own folder that no one else can read.
    const home = join(work, 'agent-home');
    mkdirSync(home, { mode: 0o700 });
    const own = makePkg(home, '1.0.3');
    chownSync(home, NOBODY, NOBODY);
    chownSync(own.path, NOBODY, NOBODY);
    const request = {
      type: 'install',
      manifest: signedManifest([releaseOf(own)], [key]),
      version: '1.0.3',
      pkg_path: own.path,
    };
    const probe = await requestAsUid(helper.socket, work, OTHER, request, { gid: NOBODY });
    assert.equal(probe.ok, false);
    assert.equal(probe.error?.code, 'PKG_REFUSED', probe.error?.message);
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
    // An older agent's unproven request names no uid whose file it could be: refused before the file is touched.
    const unproven = await requestAsUid(helper.socket, work, NOBODY, request, { proven: false });
    assert.equal(unproven.error?.code, 'PEER_UNPROVEN', unproven.error?.message);
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
    // The control: the owner's own request installs it.
    const done = await requestAsUid(helper.socket, work, NOBODY, request);
    assert.equal(done.outcome, 'installed', done.error?.message);
    assert.equal(helper.installedVersion(), '1.0.3');
  });
});
