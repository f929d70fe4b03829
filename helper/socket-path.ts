/** The socket's path before listening: its folder made, a stale socket from a crash removed. */
import { promises as fs } from 'node:fs';
import { createConnection } from 'node:net';
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
