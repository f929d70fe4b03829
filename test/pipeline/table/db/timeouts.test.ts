/**
 * A stalled or black-holed database link (issue 22): every call has a deadline, a stalled session
 * never keeps the sync lock, and a sync that cannot get the lock says who holds it. Real
 * PostgreSQL through a loopback proxy that stops forwarding; PGlite has no network to stall.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExternalError } from '../../../../schema/errors.js';
import type { Database } from '../../../../pipeline/table/db/database.js';
import { openPostgres } from '../../../../pipeline/table/db/pg.js';
import { dbTimeouts } from '../../../../pipeline/table/db/timeouts.js';
import { SYNC_LOCK, syncReleases } from '../../../../pipeline/table/sync.js';
import { runBin, tempRepo } from '../../../support/cli.js';
import { localPostgresUrl, openTestPostgres, rowVersions, type TestDatabase } from '../../../support/db.js';
import { loaded, releaseSet } from '../../../support/releases.js';
import { startBlackHole, startTcpProxy, type TcpProxy } from '../../../support/tcp-proxy.js';

const server = await localPostgresUrl();
if (server === null && process.env['CI'] === 'true') {
  throw new Error('CI=true but no PostgreSQL: set TEST_DATABASE_URL or start the server at 127.0.0.1:5432');
}
const skip = server === null ? 'no PostgreSQL (TEST_DATABASE_URL unset and nothing at 127.0.0.1:5432)' : false;

/** The same database URL, through the proxy's port. */
function via(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

describe('time-out settings', () => {
  it('come from the environment, and a bad one is a setting to fix (exit 2)', () => {
    assert.deepEqual(dbTimeouts({ MNGD_DB_QUERY_TIMEOUT_MS: '1500' }), {
      connectMs: 10_000,
      queryMs: 1500,
      lockWaitMs: 300_000,
    });
    assert.throws(
      () => dbTimeouts({ MNGD_SYNC_LOCK_WAIT_MS: '5m' }),
      /MNGD_SYNC_LOCK_WAIT_MS=5m is not a time-out: write whole milliseconds/,
    );
  });
});

describe('a stalled database link', { skip }, () => {
  let t: TestDatabase;
  let admin: Database;
  let proxy: TcpProxy;
  before(async () => {
    t = await openTestPostgres(server as string);
    admin = await t.connect();
  });
  after(async () => {
    await proxy?.close();
    await t?.close();
  });

  it('ends the stalled sync with DB_TIMEOUT, and the server frees its lock for the next sync', async () => {
    await t.reset();
    const u = new URL(t.url!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    const stalledDb = openPostgres(via(t.url!, proxy.port), {
      timeouts: { connectMs: 2000, queryMs: 1500, lockWaitMs: 2000 },
    });
    const started = Date.now();
    await assert.rejects(
      syncReleases(stalledDb, releaseSet(loaded('1.0.0')), {
        // Inside the transaction, holding the advisory lock: the network stops answering.
        beforeCommit: async (tx) => {
          proxy.stall();
          await tx.query('SELECT 1');
        },
      }),
      (err: unknown) =>
        err instanceof ExternalError && err.code === 'DB_TIMEOUT' && /did not answer within 1500 ms/.test(err.message),
    );
    assert.ok(Date.now() - started < 15_000, 'bounded by the query time-out, not hung');
    // The server ended the session idle in its transaction: the lock is free and nothing was written.
    const r = await syncReleases(t.db, releaseSet(loaded('1.0.0')), { lockWaitMs: 20_000 });
    assert.equal(r.wrote, true);
    assert.deepEqual([...(await rowVersions(admin)).keys()], ['1.0.0']);
    void stalledDb.close().catch(() => undefined);
  });

  it('a sync that cannot get the lock gives up with SYNC_LOCKED naming the holder', async () => {
    await t.reset();
    const holder = await t.connect();
    await holder.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...SYNC_LOCK]);
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await assert.rejects(syncReleases(t.db, releaseSet(loaded('1.0.0')), { lockWaitMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof ExternalError);
        assert.equal(err.code, 'SYNC_LOCKED');
        assert.match(err.message, new RegExp(`sync lock held by pid ${rows[0]!.pid} since \\d{4}-\\d\\d-\\d\\dT`));
        assert.match(err.message, /pg_terminate_backend/);
        return true;
      });
    });
  });

  it('mngd-release sync against a black-holed database exits 3 within the connect time-out', async () => {
    const hole = await startBlackHole();
    const repo = tempRepo();
    try {
      const r = await runBin(['sync'], {
        cwd: repo.root,
        env: {
          DATABASE_URL: `postgres://postgres@127.0.0.1:${hole.port}/test`,
          MNGD_DB_CONNECT_TIMEOUT_MS: '800',
        },
      });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /did not answer within 800 ms/);
      assert.ok(hole.accepted() >= 1);
    } finally {
      await hole.close();
    }
  });
});
