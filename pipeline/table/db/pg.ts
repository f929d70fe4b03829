/** The PostgreSQL implementation of Database, over a pg pool. TLS comes from the URL (sslmode, sslrootcert, ...). */
import pg from 'pg';
import { ExternalError, MngdError, SettingsError, messageOf } from '../../../schema/errors.js';
import type { Database, QueryResult, Sql } from './database.js';
import { redactUrl, scrubSecrets } from './redact.js';

/** int8 as text, never silently rounded; callers parse it where they know the range. */
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export function openPostgres(url: string, opts: { max?: number } = {}): Database {
  const label = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 2, connectionTimeoutMillis: 10_000 });
  // An idle client that dies (server restart, pg_terminate_backend) must not crash the process.
  pool.on('error', () => undefined);

  // Driver and server errors become ExternalError (exit 3, retry) with the URL's password removed;
  // the SQLSTATE stays in the message for the operator.
  const wrap = (err: unknown): Error => {
    if (err instanceof MngdError) return err;
    const sqlState =
      err instanceof Error && 'code' in err && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)
        ? err.code
        : undefined;
    const state = sqlState === undefined ? '' : ` (SQLSTATE ${sqlState})`;
    // Classes 08 (connection) and 57 (operator intervention: shutdown, terminated) mean the server went away.
    const gone = sqlState === undefined || sqlState.startsWith('08') || sqlState.startsWith('57');
    // Settings that a retry cannot fix: exit 2 with what to change in DATABASE_URL.
    const setting =
      messageOf(err) === 'The server does not support SSL connections'
        ? 'the server does not accept TLS; use sslmode=disable only for a server on this machine, otherwise enable TLS on the server'
        : sqlState === '28P01' || sqlState === '28000'
          ? "the server refused the user or password; check DATABASE_URL's user and password (the secret)"
          : sqlState === '3D000'
            ? "that database does not exist on the server; check DATABASE_URL's database name"
            : null;
    if (setting !== null) {
      return new SettingsError(
        `PostgreSQL at ${label}: ${scrubSecrets(messageOf(err), url)}${state}: ${setting}`,
        'DB_SETTINGS',
      );
    }
    return new ExternalError(
      gone ? 'DB_UNAVAILABLE' : 'DB_QUERY_FAILED',
      `PostgreSQL at ${label}: ${scrubSecrets(messageOf(err), url)}${state}. Check DATABASE_URL, the network and the server, then retry.`,
      {
        cause: err,
      },
    );
  };
  const on = (q: pg.Pool | pg.PoolClient): Sql => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      try {
        const r = await q.query(text, params as unknown[] | undefined);
        return { rows: r.rows as R[] };
      } catch (err) {
        throw wrap(err);
      }
    },
    async exec(text: string): Promise<void> {
      try {
        await q.query(text);
      } catch (err) {
        throw wrap(err);
      }
    },
  });

  return {
    kind: 'postgres',
    label,
    ...on(pool),
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw wrap(err);
      }
      let broken: Error | undefined;
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const out = await fn(on(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken ??= rollbackErr as Error;
        }
        throw wrap(err);
      } finally {
        client.off('error', onError);
        // A connection that failed mid-transaction is discarded, never reused.
        client.release(broken ?? false);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
