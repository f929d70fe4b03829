/**
 * The staging folder and the staged copy. The helper installs only a copy that it made into a
 * folder nobody else can write, and whose size and SHA-256 it checked after copying: what the
 * agent verified earlier counts for nothing here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { HelperError } from './protocol.js';
import { describeUnsafe, unsafeStagingAncestor } from './staging-path.js';

const COPY_CHUNK = 1024 * 1024;

/**
 * Makes sure `dir` is a real directory owned by this user with mode 0700, re-creating it
 * otherwise. Threat: a local user who pre-created the folder (or a link in its place) could
 * swap the staged package between our hash check and the installer reading it.
 */
export async function ensureStagingDir(dir: string): Promise<void> {
  // Local root: a folder on the way that another user can change lets them swap the package
  // under the installer, whatever this folder's own mode (staging-path.ts). Checked before we
  // create anything, and again after.
  await refuseUnsafeAncestors(dir);
  const uid = process.getuid?.() ?? 0;
  const st = await fs.lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st !== null && st.isDirectory() && st.uid === uid && (st.mode & 0o777) === 0o700) return;
  if (st !== null) await fs.rm(dir, { recursive: true, force: true }); // rm never follows a link
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700); // the umask may have narrowed or the folder existed as a parent
  await refuseUnsafeAncestors(dir);
  const made = await fs.lstat(dir);
  if (!made.isDirectory() || made.uid !== uid || (made.mode & 0o777) !== 0o700) {
    throw new HelperError(
      'STAGING_UNSAFE',
      `the staging folder ${dir} changed while it was created; choose another --staging`,
    );
  }
}

async function refuseUnsafeAncestors(dir: string): Promise<void> {
  const unsafe = await unsafeStagingAncestor(dir);
  if (unsafe !== null) throw new HelperError('STAGING_UNSAFE', describeUnsafe(dir, unsafe));
}

/** The same inode (device and number): the path still leads to what the handle holds. */
function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * Opens the agent's package for reading without following a link, and only if it is a regular
 * file owned by `owner` (the uid the client proved).
 */
async function openPackage(pkgPath: string, owner: number): Promise<fs.FileHandle> {
  // Opening a device as root can itself have effects: refuse anything but a regular file (or a
  // link, refused below with its own message) before opening. The check after opening is the
  // one that counts; this one only keeps us from opening what we would refuse anyway.
  const pre = await fs.lstat(pkgPath).catch(() => null);
  if (pre !== null && !pre.isFile() && !pre.isSymbolicLink()) {
    throw new HelperError('PKG_UNSAFE_PATH', `package ${pkgPath} is not a regular file; pass the downloaded .pkg file`);
  }
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW: a link planted at pkg_path (say, to /etc/master.passwd or another package)
    // is refused. O_NONBLOCK: a FIFO planted there cannot hang the helper.
    handle = await fs.open(pkgPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new HelperError('PKG_NOT_FOUND', `package ${pkgPath} does not exist; download it again`);
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') {
      throw new HelperError(
        'PKG_UNSAFE_PATH',
        `package ${pkgPath} is a symbolic link; links are never followed: pass the path of the file itself`,
      );
    }
    throw new HelperError('PKG_NOT_FOUND', `package ${pkgPath} cannot be opened (${code ?? (err as Error).message})`);
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new HelperError('PKG_UNSAFE_PATH', `package ${pkgPath} is not a regular file; pass the downloaded .pkg file`);
  }
  // A file-existence oracle as root: only the client's own file is read (checked on the open
  // file, not the path), so another user's, or root's in a folder only root can read, tells
  // the client nothing it could not see itself.
  if (st.uid !== owner) {
    await handle.close();
    throw new HelperError('PKG_NOT_OWNED', `package ${pkgPath} is not owned by uid ${owner}, the client's`);
  }
  return handle;
}

export interface Expected {
  size: number;
  sha256: string;
}

/**
 * Copies the package, which must be `owner`'s, into the staging folder and verifies the copy.
 * Returns the staged path; on any failure nothing is left behind.
 */
export async function stagePackage(
  pkgPath: string,
  stagingDir: string,
  expected: Expected,
  owner: number,
): Promise<string> {
  await ensureStagingDir(stagingDir);
  // The folder as a handle: Node has no openat(), so the copy is created by path, and then
  // proven to be in the very folder that was checked (same inode) before anyone runs it.
  const folder = await fs.open(stagingDir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  const staged = join(stagingDir, `${randomUUID()}.pkg`);
  let source: fs.FileHandle;
  try {
    source = await openPackage(pkgPath, owner);
  } catch (err) {
    await folder.close();
    throw err;
  }
  try {
    // O_EXCL | O_NOFOLLOW: the name is fresh; nothing planted can be written through.
    const out = await fs.open(
      staged,
      constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const buf = Buffer.alloc(COPY_CHUNK);
      let copied = 0;
      for (;;) {
        const { bytesRead } = await source.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        copied += bytesRead;
        // A package growing past its declared size (endless data) is stopped, not copied on.
        if (copied > expected.size) {
          throw new HelperError(
            'PKG_SIZE_MISMATCH',
            `package ${pkgPath} is larger than the ${expected.size} bytes the manifest declares`,
          );
        }
        await out.write(buf, 0, bytesRead);
      }
      await out.sync();
      await verifyCopy(out, pkgPath, expected);
      await provePlace(stagingDir, staged, folder, out);
    } finally {
      await out.close();
    }
    return staged;
  } catch (err) {
    await fs.rm(staged, { force: true });
    throw err;
  } finally {
    await source.close();
    await folder.close();
  }
}

/**
 * After the copy: the folder and the copy are still ours, where the installer will look. The
 * ancestors again (a folder loosened meanwhile), the folder path against the handle, the copy's
 * path against the handle written to, and its owner and mode.
 */
async function provePlace(dir: string, staged: string, folder: fs.FileHandle, out: fs.FileHandle): Promise<void> {
  await refuseUnsafeAncestors(dir);
  const uid = process.getuid?.() ?? 0;
  const [dirNow, dirHeld, copyNow, copyHeld] = await Promise.all([
    fs.lstat(dir),
    folder.stat(),
    fs.lstat(staged).catch(() => null),
    out.stat(),
  ]);
  const ok =
    sameFile(dirNow, dirHeld) &&
    dirNow.uid === uid &&
    (dirNow.mode & 0o777) === 0o700 &&
    copyNow !== null &&
    copyNow.isFile() &&
    sameFile(copyNow, copyHeld) &&
    copyNow.uid === uid &&
    (copyNow.mode & 0o777) === 0o600;
  if (!ok) {
    throw new HelperError(
      'STAGING_UNSAFE',
      `the staging folder ${dir} or the copy in it changed while the package was staged; nothing was installed: check who can write on the way to --staging`,
    );
  }
}

/** Size and SHA-256 of the staged copy itself, read back: a package swapped after the agent's check is caught here. */
async function verifyCopy(out: fs.FileHandle, pkgPath: string, expected: Expected): Promise<void> {
  const st = await out.stat();
  if (st.size !== expected.size) {
    // The actual size is not echoed either: any local user may name any file the helper (root) can read.
    throw new HelperError(
      'PKG_SIZE_MISMATCH',
      `package ${pkgPath} does not have the size the manifest declares (${expected.size} bytes): download it again`,
    );
  }
  const hash = createHash('sha256');
  const buf = Buffer.alloc(COPY_CHUNK);
  let pos = 0;
  while (pos < st.size) {
    const { bytesRead } = await out.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  // The actual hash is not echoed: the helper reads files its client may not, and must not
  // become an oracle for their contents.
  if (hash.digest('hex') !== expected.sha256) {
    throw new HelperError(
      'PKG_HASH_MISMATCH',
      `package ${pkgPath} does not have the SHA-256 the manifest declares (${expected.sha256}): it changed after download or is not the released package; download it again`,
    );
  }
}

export async function removeStaged(staged: string): Promise<void> {
  await fs.rm(staged, { force: true });
}
