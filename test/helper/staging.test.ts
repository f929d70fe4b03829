/** The staging folder and the staged copy: never through a link, never into a folder others control. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  lstatSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HelperError } from '../../helper/protocol.js';
import { ensureStagingDir, stagePackage } from '../../helper/staging.js';
import { makePkg } from './harness.js';

/** The uid the test runs as: its packages are its own. */
const ME = process.getuid!();
const dir = mkdtempSync(join(tmpdir(), 'mngd-staging-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HelperError, String(err));
    return err.code;
  }
  return 'none';
}

describe('ensureStagingDir', () => {
  it('creates the folder with mode 0700', async () => {
    const s = join(dir, 'a', 'staging');
    await ensureStagingDir(s);
    assert.equal(statSync(s).mode & 0o777, 0o700);
  });

  it('re-creates a folder whose mode lets others in, dropping what was planted there', async () => {
    const s = join(dir, 'loose');
    mkdirSync(s);
    chmodSync(s, 0o777);
    writeFileSync(join(s, 'planted.pkg'), 'x');
    await ensureStagingDir(s);
    assert.equal(statSync(s).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(s), []);
  });

  it('replaces a symbolic link with a real folder and leaves the link target alone', async () => {
    const target = join(dir, 'elsewhere');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    const s = join(dir, 'linked');
    symlinkSync(target, s);
    await ensureStagingDir(s);
    assert.ok(lstatSync(s).isDirectory());
    assert.ok(existsSync(join(target, 'keep')));
  });

  it('replaces a regular file in its place', async () => {
    const s = join(dir, 'file-instead');
    writeFileSync(s, 'x');
    await ensureStagingDir(s);
    assert.ok(lstatSync(s).isDirectory());
  });

  it('re-creates a folder owned by another user (as root, as the helper runs: chown needs it)', async () => {
    assert.equal(process.getuid?.(), 0, 'this test hands a folder to another user: run the helper tests as root');
    const s = join(dir, 'foreign');
    mkdirSync(s, { mode: 0o700 });
    chownSync(s, 1, 1);
    assert.equal(statSync(s).uid, 1);
    await ensureStagingDir(s);
    assert.equal(statSync(s).uid, process.getuid?.());
    assert.equal(statSync(s).mode & 0o777, 0o700);
  });
});

describe('stagePackage', () => {
  const pkg = makePkg(dir, '2.0.0', 50_000);
  const staging = join(dir, 'staging');

  it('copies into the staging folder with mode 0600 and returns the copy', async () => {
    const staged = await stagePackage(pkg.path, staging, pkg, ME);
    assert.ok(staged.startsWith(staging + '/'));
    assert.equal(statSync(staged).mode & 0o777, 0o600);
    assert.equal(statSync(staged).size, pkg.size);
    rmSync(staged);
  });

  it('refuses a FIFO without hanging', async () => {
    const fifo = join(dir, 'fifo.pkg');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await code(stagePackage(fifo, staging, pkg, ME)), 'PKG_UNSAFE_PATH');
    assert.deepEqual(readdirSync(staging), []);
  });

  it("refuses a package of another uid than the client's, and leaves nothing behind", async () => {
    assert.equal(await code(stagePackage(pkg.path, staging, pkg, ME + 1)), 'PKG_NOT_OWNED');
    assert.deepEqual(readdirSync(staging), []);
  });

  it('refuses a missing package', async () => {
    assert.equal(await code(stagePackage(join(dir, 'nope.pkg'), staging, pkg, ME)), 'PKG_NOT_FOUND');
  });

  it('stops copying a package larger than declared and leaves nothing behind', async () => {
    assert.equal(
      await code(stagePackage(pkg.path, staging, { size: 1000, sha256: pkg.sha256 }, ME)),
      'PKG_SIZE_MISMATCH',
    );
    assert.deepEqual(readdirSync(staging), []);
    // Stopped while copying (endless data), not found out after copying it all.
    await assert.rejects(
      stagePackage(pkg.path, staging, { size: 1000, sha256: pkg.sha256 }, ME),
      /is larger than the 1000 bytes/,
    );
  });

  it('refuses a copy whose hash differs and leaves nothing behind', async () => {
    assert.equal(
      await code(stagePackage(pkg.path, staging, { size: pkg.size, sha256: '0'.repeat(64) }, ME)),
      'PKG_HASH_MISMATCH',
    );
    assert.deepEqual(readdirSync(staging), []);
  });
});
