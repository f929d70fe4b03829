/** The embedded implementation of Database: PGlite (PostgreSQL compiled to WASM) in a local folder. */
import { mkdir } from 'node:fs/promises';
import { PGlite, types } from '@electric-sql/pglite';
import { ExternalError, messageOf } from '../../../schema/errors.js';
import type { Database, QueryResult, Sql } from './database.js';
import { lockPgliteDir } from './pglite-lock.js';

interface PgliteLike {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  exec(text: string): Promise<unknown>;
}

const on = (q: PgliteLike): Sql => ({
  async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    const r = await q.query<R>(text, params as unknown[] | undefined);
    return { rows: r.rows };
  },
  async exec(text: string): Promise<void> {
    await q.exec(text);
  },
});

export interface PgliteOptions {
  /** a data directory dumped by PGlite's dumpDataDir, loaded instead of running initdb (tests: much faster) */
  loadDataDir?: Blob;
}

/** Opens (creating when needed) PGlite in `dir`; no dir: in memory (tests). */
export async function openPglite(
  dir?: string,
  opts: PgliteOptions = {},
): Promise<Database & { dump(): Promise<Blob> }> {
  let db: PGlite;
  let unlock: () => Promise<void> = async () => undefined;
  try {
    if (dir !== undefined) {
      await mkdir(dir, { recursive: true });
      unlock = await lockPgliteDir(dir);
    }
    // int8 as text, as with pg: the same rows on both implementations.
    db = await PGlite.create(dir ?? 'memory://', {
      parsers: { [types.INT8]: (v: string) => v },
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    });
  } catch (err) {
    await unlock();
    if (err instanceof ExternalError) throw err;
    throw new ExternalError(
      'DB_UNAVAILABLE',
      `cannot open the embedded database in ${dir ?? 'memory'}: ${messageOf(err)}. Is another mngd-release using it? Remove the folder to start empty.`,
      {
        cause: err,
      },
    );
  }
  return {
    kind: 'pglite',
    label: dir === undefined ? 'PGlite (in memory)' : `PGlite at ${dir}`,
    ...on(db),
    transaction: <T>(fn: (tx: Sql) => Promise<T>) => db.transaction((tx) => fn(on(tx))),
    close: async () => {
      try {
        await db.close();
      } finally {
        await unlock();
      }
    },
    dump: async () => (await db.dumpDataDir('none')) as Blob,
  };
}
