/**
 * A file-existence oracle as root (issue 20, hole 5), as another uid probes: a process running as
 * uid 65534 (`setpriv`) names paths inside a folder only root can read — a file that exists, one
 * that does not, a link, a folder, a file of the right size — in install requests with a valid
 * manifest. Every answer is the same code and the same message, so nothing about the folder's
 * content leaks. (Before: PKG_NOT_FOUND, PKG_UNSAFE_PATH, PKG_SIZE_MISMATCH, PKG_HASH_MISMATCH.)
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('gets one and the same refusal for a file that exists, one that does not, a link, a folder and a same-size file', async () => {
    const manifest = signedManifest([releaseOf(pkg)], [key]);
    const answers: string[] = [];
    for (const name of ['exists', 'missing', 'link', 'folder', 'same-size']) {
      const path = join(secret, name);
      const reply = (await requestAsUid(helper.socket, work, NOBODY, {
        type: 'install',
        manifest,
        version: '1.0.3',
        pkg_path: path,
      })) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(reply.ok, false);
      answers.push(`${reply.error.code}: ${reply.error.message.replace(path, '<path>')}`);
    }
    assert.equal(new Set(answers).size, 1, answers.join('\n'));
    assert.match(answers[0]!, /^PKG_REFUSED: /);
    assert.deepEqual(helper.invocations(), [], 'the installer never ran');
  });
});
