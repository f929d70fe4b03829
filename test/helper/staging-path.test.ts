/**
 * Local root through a writable staging parent (issue 20, hole 1): another user (uid 65534) who
 * owns or can write a folder on the way to --staging could rename the root-only staging folder
 * away and put their own package under the staged name before the installer opens it. The helper
 * refuses such a --staging at start (exit 2) and at every install (STAGING_UNSAFE, installer
 * never run). Needs root (chown), as the helper itself runs: the file fails, not skips, without.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, lchownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requestInstall } from '../../helper/client.js';
import { HelperError } from '../../helper/protocol.js';
import { stagePackage } from '../../helper/staging.js';
import { unsafeStagingAncestor } from '../../helper/staging-path.js';
import {
  deviceIdFor,
  HELPER_CLI,
  makePkg,
  newKey,
  releaseOf,
  signedManifest,
  startHelper,
  STAND_IN,
} from './harness.js';

const OTHER = 65534;
const ME = process.getuid!();
assert.equal(process.getuid?.(), 0, 'these tests chown folders to another user: run them as root, as the helper runs');

const dir = mkdtempSync(join(tmpdir(), 'mngd-staging-path-'));
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh folder under `dir`, with the given owner and mode. */
function folder(name: string, mode: number, uid = 0): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  chmodSync(p, mode);
  chownSync(p, uid, uid);
  return p;
}

describe('unsafeStagingAncestor', () => {
  it('refuses a parent owned by another user', async () => {
    const p = folder('theirs', 0o755, OTHER);
    const u = await unsafeStagingAncestor(join(p, 'staging'));
    assert.deepEqual(u, { path: p, why: `is owned by uid ${OTHER}, not by root` });
  });

  it('refuses a root-owned ancestor writable by its group or by others, further up too', async () => {
    const g = folder('group-w', 0o775);
    assert.match(
      (await unsafeStagingAncestor(join(g, 'a', 'staging')))?.why ?? '',
      /writable by its group \(mode 775\)/,
    );
    const o = folder('other-w', 0o757);
    mkdirSync(join(o, 'deep', 'er'), { recursive: true });
    assert.equal((await unsafeStagingAncestor(join(o, 'deep', 'er', 'staging')))?.path, o);
  });

  it('accepts root-owned 0755 folders and a root-owned sticky folder such as /tmp', async () => {
    assert.equal(await unsafeStagingAncestor(join(folder('good', 0o755), 'staging')), null);
    assert.equal(await unsafeStagingAncestor(join(folder('sticky', 0o1777), 'staging')), null);
  });

  it('refuses a sticky world-writable folder that root does not own', async () => {
    const p = folder('their-sticky', 0o1777, OTHER);
    assert.equal((await unsafeStagingAncestor(join(p, 'staging')))?.path, p);
  });

  it('refuses a link on the way owned by another user, and a root link leading into their folder', async () => {
    const good = folder('target-good', 0o755);
    const theirLink = join(dir, 'their-link');
    symlinkSync(good, theirLink);
    lchownSync(theirLink, OTHER, OTHER);
    assert.equal((await unsafeStagingAncestor(join(theirLink, 'staging')))?.path, theirLink);
    const bad = folder('target-theirs', 0o755, OTHER);
    const rootLink = join(dir, 'root-link');
    symlinkSync(bad, rootLink);
    assert.equal((await unsafeStagingAncestor(join(rootLink, 'staging')))?.path, bad);
  });
});

describe('stagePackage under a folder another user controls', () => {
  it('refuses with STAGING_UNSAFE and copies nothing', async () => {
    const pkg = makePkg(dir, '2.0.0');
    const parent = folder('attack-parent', 0o755, OTHER);
    await assert.rejects(
      stagePackage(pkg.path, join(parent, 'staging'), pkg, ME),
      (err: unknown) => err instanceof HelperError && err.code === 'STAGING_UNSAFE' && err.message.includes(parent),
    );
    assert.deepEqual(readdirSync(parent), [], 'nothing was created under their folder');
  });
});

describe('mngd-helper serve with a staging folder another user could swap', () => {
  const key = newKey();

  it('refuses to start (exit 2) and names the folder and the fix', async () => {
    const parent = folder('serve-parent', 0o755, OTHER);
    const p = spawn(
      process.execPath,
      [
        HELPER_CLI,
        'serve',
        '--socket',
        join(dir, 'serve.sock'),
        '--staging',
        join(parent, 'staging'),
        '--state-dir',
        join(dir, 'serve-state'),
        '--installer',
        STAND_IN,
        '--trusted-key',
        key.public_key,
        '--log-file',
        join(dir, 'serve.log'),
        '--device-id-file',
        join(dir, 'serve-device-id'),
        '--version-file',
        join(dir, 'VERSION'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Without the guard it would listen: stop it, so the test fails at once instead of hanging.
    p.stdout.on('data', (c: Buffer) => c.toString().includes('listening') && p.kill());
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`${parent} is owned by uid ${OTHER}.*chown root`));
    assert.match(stderr, /STAGING_UNSAFE/);
  });

  it('refuses an install once a folder on the way was handed to another user after start; the installer never runs', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mngd-staging-attack-'));
    const pkg = makePkg(work, '1.0.3');
    const helper = await startHelper({ key, installed: '1.0.2', deviceId: deviceIdFor('1.0.3', 100) });
    try {
      const stateDir = join(helper.dir, 'state');
      chownSync(stateDir, OTHER, OTHER); // now they could rename staging/ away under the installer
      const reply = await requestInstall(helper.socket, {
        manifest: signedManifest([releaseOf(pkg)], [key]),
        version: '1.0.3',
        pkg_path: pkg.path,
      });
      assert.equal(reply.ok, false, JSON.stringify(reply));
      assert.equal(!reply.ok && reply.error.code, 'STAGING_UNSAFE');
      assert.deepEqual(helper.invocations(), [], 'the installer must not have been invoked');
      assert.equal(helper.installedVersion(), '1.0.2');
    } finally {
      await helper.stop();
      rmSync(helper.dir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
