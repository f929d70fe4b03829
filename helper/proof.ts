/**
 * Proving a client's uid with files only (docs/helper.md, "Protocol"). Node reads no peer
 * credentials of a Unix socket (SO_PEERCRED, LOCAL_PEERCRED/getpeereid) and the helper ships no
 * native code, so a client proves its uid the way D-Bus's DBUS_COOKIE_SHA1 does: by reading a
 * secret that only that uid can read. On `prove` the helper (root) creates a fresh file in its
 * own folder (`<socket>.proofs`: root's, mode 0710 to the socket's group, 0700 without one) with
 * O_CREAT|O_EXCL|O_NOFOLLOW, writes 32 random bytes into it, makes it mode 0400 and hands it to
 * the uid claimed (fchown on the open file). Only that uid (and root) can read it back; the
 * client sends the content with its request on the same connection.
 *
 * Why the helper writes and the client reads, rather than the client creating a file the helper
 * checks the owner of: nothing in the folder is ever made by another user, so there is nothing
 * to lstat, no link or hard link to refuse (macOS has no fs.protected_hardlinks: a user may hard
 * link a file of another user into a folder it can write), no file planted before the challenge,
 * no folder to fill: the files are the helper's own, one per connection waiting on a proof,
 * bounded by the connection table and removed at the answer, at the connection's end and at start.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ExternalError } from '../schema/errors.js';

/** The folder of the challenge files, beside the socket (the same audience: its group). */
export function proofDirOf(socketPath: string): string {
  return `${socketPath}.proofs`;
}

/**
 * Makes the proof folder root's own, mode 0710 to `gid` (0700 without one), and removes the
 * challenge files a stopped helper left. Anything else at that path (a file, a link, a folder of
 * another user) is refused: SOCKET_UNAVAILABLE, exit 3, like a non-socket at the socket's path.
 */
export async function prepareProofDir(dir: string, gid: number | null): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  const st = await fs.lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st === null) {
    await fs.mkdir(dir, { mode: 0o700 });
  } else if (!st.isDirectory() || st.uid !== uid) {
    throw new ExternalError(
      'SOCKET_UNAVAILABLE',
      `${dir} exists and is not the helper's proof folder (a folder owned by root); remove it or choose another --socket`,
    );
  } else {
    // Only the helper ever creates anything here: what is left is challenge files of a helper
    // that stopped. Never recursive (nothing here is another user's to follow).
    for (const name of await fs.readdir(dir)) await fs.rm(join(dir, name), { force: true });
  }
  await fs.chown(dir, uid, gid ?? process.getgid?.() ?? 0);
  await fs.chmod(dir, gid === null ? 0o700 : 0o710);
}

/** A challenge issued to one connection: the file, the uid it was handed to, its content. */
export interface Challenge {
  path: string;
  uid: number;
  secret: string;
}

/** Creates a fresh challenge file that only `uid` (and root) can read. */
export async function issueChallenge(dir: string, uid: number): Promise<Challenge> {
  const path = join(dir, randomBytes(16).toString('hex'));
  const secret = randomBytes(32).toString('hex');
  // A fresh name, never through a link; mode 0400 from the start, then handed to the uid.
  const fh = await fs.open(
    path,
    constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
    0o400,
  );
  try {
    await fh.writeFile(secret);
    await fh.chown(uid, 0);
  } catch (err) {
    await fs.rm(path, { force: true });
    throw err;
  } finally {
    await fh.close();
  }
  return { path, uid, secret };
}

/** Whether `proof` is the challenge's content (compared in constant time). */
export function answers(challenge: Challenge, proof: string | undefined): boolean {
  if (proof === undefined) return false;
  const a = Buffer.from(proof);
  const b = Buffer.from(challenge.secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Removes the challenge's file (used once: at the answer, or when the connection ends). */
export function withdraw(challenge: Challenge): Promise<void> {
  return fs.rm(challenge.path, { force: true });
}
