/**
 * The socket's path: before listening, its folder made and a stale socket from a crash removed;
 * then listening on it with its mode and group.
 */
import { promises as fs } from 'node:fs';
import { createConnection, type Server } from 'node:net';
import { dirname } from 'node:path';
import { ExternalError } from '../schema/errors.js';

/**
 * Creates the socket's folder and removes a stale socket left by a crash. Refuses to remove
 * anything that is not a socket, and refuses to start when another helper answers there.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const st = await fs.lstat(path).catch(() => null);
  if (st === null) return;
  if (!st.isSocket()) {
    throw new ExternalError(
      'SOCKET_UNAVAILABLE',
      `${path} exists and is not a socket; remove it or choose another --socket`,
    );
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection({ path });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive)
    throw new ExternalError('SOCKET_UNAVAILABLE', `another helper is already listening on ${path}; stop it first`);
  await fs.rm(path, { force: true });
}

/** Listens on `path`: mode 0660 with group `gid`, or 0600 without one. */
export async function listenOn(server: Server, path: string, gid: number | null): Promise<void> {
  // The socket must never be reachable with looser permissions, not even for a moment: create
  // it under a umask that leaves only the owner, then widen to the group if configured.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  if (gid !== null) {
    await fs.chown(path, process.getuid?.() ?? 0, gid);
    await fs.chmod(path, 0o660);
  } else {
    await fs.chmod(path, 0o600);
  }
}
