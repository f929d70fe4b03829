/**
 * Which database a command uses: DATABASE_URL when set (PostgreSQL, TLS from the URL's
 * sslmode/sslrootcert/sslcert/sslkey), otherwise embedded PGlite under the state folder
 * (<repo>/.state/pglite, or $MNGD_STATE_DIR/pglite), so a fresh clone works offline.
 */
import { join } from 'node:path';
import { SettingsError } from '../../../schema/errors.js';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './pg.js';
import { redactUrl } from './redact.js';
import { stateDir } from '../../state-dir.js';
import { dbTimeouts } from './timeouts.js';

export async function openDatabase(cwd: string, env: Record<string, string | undefined>): Promise<Database> {
  const url = env['DATABASE_URL'];
  if (url === undefined || url === '') return openPglite(join(stateDir(cwd, env), 'pglite'));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SettingsError(
      `DATABASE_URL is not a URL (${redactUrl(url)}); expected postgres://user@host:5432/db?sslmode=verify-full`,
      'DB_SETTINGS',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SettingsError(
      `DATABASE_URL must start with postgres:// or postgresql://, got ${parsed.protocol}// (${redactUrl(url)})`,
      'DB_SETTINGS',
    );
  }
  return openPostgres(url, { timeouts: dbTimeouts(env) });
}
