/**
 * The database a CLI run in a test uses, reachable from the test too (to look, or to change a row
 * by raw SQL behind the pipeline's back):
 * - PostgreSQL when TEST_DATABASE_URL is set or a server listens on 127.0.0.1:5432 (a fresh
 *   database per call, dropped on close; the CLI gets it as DATABASE_URL);
 * - otherwise the embedded PGlite the CLI opens under <stateDir>/pglite, opened by the test only
 *   between CLI runs (PGlite is one process at a time). MNGD_TEST_PGLITE=1 forces this path.
 */
import { join } from 'node:path';
import type { Database } from '../../pipeline/table/db/database.js';
import { openPglite } from '../../pipeline/table/db/pglite.js';
import { localPostgresUrl, openTestPostgres } from './db.js';

export interface CliDatabase {
  kind: 'postgres' | 'pglite';
  /** merge into the CLI's environment */
  env: Record<string, string>;
  /** runs fn with a connection to the same database the CLI uses */
  use<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function cliDatabase(stateDir: string): Promise<CliDatabase> {
  // MNGD_TEST_PGLITE=1 forces the embedded path even where PostgreSQL runs.
  const url = process.env['MNGD_TEST_PGLITE'] === '1' ? null : await localPostgresUrl();
  if (url !== null) {
    const t = await openTestPostgres(url);
    return { kind: 'postgres', env: { DATABASE_URL: t.url ?? '' }, use: (fn) => fn(t.db), close: () => t.close() };
  }
  return {
    kind: 'pglite',
    env: {},
    async use(fn) {
      const db = await openPglite(join(stateDir, 'pglite'));
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
    close: async () => undefined,
  };
}
