/** The local state folder (embedded PGlite, the local bucket, caches): MNGD_STATE_DIR or <repo>/.state. */
import { resolve } from 'node:path';

export function stateDir(root: string, env: Record<string, string | undefined>): string {
  const dir = env['MNGD_STATE_DIR'];
  return dir !== undefined && dir !== '' ? resolve(root, dir) : resolve(root, '.state');
}
