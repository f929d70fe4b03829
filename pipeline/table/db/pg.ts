/** The PostgreSQL implementation of Database, over a pg pool. TLS comes from the URL (sslmode, sslrootcert, ...). */
import pg from 'pg';
import { ExternalError, MngdError, SettingsError, messageOf } from '../../../schema/errors.js';
import type { Database, QueryResult, Sql } from './database.js';
import { redactUrl, scrubSecrets } from './redact.js';
import { DEFAULT_DB_TIMEOUTS, formatMs, type DbTimeouts } from './timeouts.js';

/** int8 as text, never silently rounded; callers parse it where they know the range. */
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export function openPostgres(url: string, opts: { max?: number; timeouts?: DbTimeouts } = {}): Database {
  const label = redactUrl(url);
  const t = opts.timeouts ?? DEFAULT_DB_TIMEOUTS;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 2,
    application_name: 'mngd-release',
    connectionTimeoutMillis: t.connectMs,
    // A link that stops answering: the client gives up (query_timeout) and TCP keepalive notices a
    // dead peer; the server ends statements that run too long and sessions that stall inside a
    // transaction, so a stalled run never keeps the sync lock.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: t.queryMs,
    statement_timeout: t.queryMs,
    idle_in_transaction_session_timeout: t.queryMs,
  });
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
    if (
      /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout)/.test(
        messageOf(err),
      )
    )
      return new ExternalError(
        'DB_TIMEOUT',
        `PostgreSQL at ${label} did not answer within ${formatMs(/connect/.test(messageOf(err)) ? t.connectMs : t.queryMs)} (${messageOf(err)}): the server or the network to it is stalled. Check both, then retry; the time-outs are MNGD_DB_CONNECT_TIMEOUT_MS and MNGD_DB_QUERY_TIMEOUT_MS.`,
        { cause: err },
      );
    if (sqlState === '57014' || sqlState === '25P03')
      return new ExternalError(
        'DB_TIMEOUT',
        `PostgreSQL at ${label} ended the ${sqlState === '57014' ? 'statement' : 'stalled transaction'} after ${formatMs(t.queryMs)}${state}: the server or the network was too slow. Retry; the bound is MNGD_DB_QUERY_TIMEOUT_MS.`,
        { cause: err },
      );
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
    lockWaitMs: t.lockWaitMs,
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
        // A link that timed out would stall the ROLLBACK too: drop the connection instead (the
        // server rolls back a session that goes away).
        if (messageOf(err) === 'Query read timeout') broken ??= err as Error;
        else {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            broken ??= rollbackErr as Error;
          }
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
