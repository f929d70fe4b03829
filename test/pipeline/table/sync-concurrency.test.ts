/**
 * Sync against a real PostgreSQL server with more than one connection: two syncs at once, and a
 * connection killed before COMMIT. PGlite has a single connection, so these need the server:
 * TEST_DATABASE_URL, else the local 127.0.0.1:5432 if it answers. Without either (and only
 * outside CI) the tests say why they did not run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExternalError } from '../../../schema/errors.js';
import type { Database } from '../../../pipeline/table/db/database.js';
import { readRows, tableColumns } from '../../../pipeline/table/db/rows.js';
import { SYNC_LOCK, syncReleases } from '../../../pipeline/table/sync.js';
import { legacyServed, localPostgresUrl, openTestPostgres, rowVersions, type TestDatabase } from '../../support/db.js';
import { loaded, releaseSet } from '../../support/releases.js';

const server = await localPostgresUrl();
if (server === null && process.env['CI'] === 'true') {
  throw new Error('CI=true but no PostgreSQL: set TEST_DATABASE_URL or start the server at 127.0.0.1:5432');
}
const skip = server === null ? 'no PostgreSQL (TEST_DATABASE_URL unset and nothing at 127.0.0.1:5432)' : false;

/** Resolves once some connection waits for the sync's advisory lock (observed in pg_locks, not timed). */
async function someoneWaitsForLock(admin: Database): Promise<void> {
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2",
      [...SYNC_LOCK],
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((r) => setImmediate(r));
  }
}

async function killOwnConnection(tx: { query: Database['query'] }, admin: Database): Promise<void> {
  const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
}

describe('sync on PostgreSQL with several connections', { skip }, () => {
  let t: TestDatabase;
  let admin: Database;
  before(async () => {
    t = await openTestPostgres(server as string);
    admin = await t.connect();
  });
  after(async () => t?.close());

  it('serializes two syncs started at once, and the later one sees what the first committed', async () => {
    await t.reset();
    const first = releaseSet(loaded('1.0.0'), loaded('1.0.1'));
    const second = releaseSet(loaded('1.0.0'), loaded('1.0.1', { rollout_percent: 50 }), loaded('1.0.2'));
    const other = await t.connect();
    let secondStarted: Promise<Awaited<ReturnType<typeof syncReleases>>> | undefined;
    const a = await syncReleases(t.db, first, {
      // Hold the first transaction open until the second is blocked on the lock.
      beforeCommit: async () => {
        secondStarted = syncReleases(other, second);
        await someoneWaitsForLock(admin);
      },
    });
    const b = await (secondStarted as NonNullable<typeof secondStarted>);
    assert.deepEqual(
      a.plan.inserts.map((i) => i.version),
      ['1.0.1', '1.0.0'],
    );
    assert.deepEqual(
      b.plan.inserts.map((i) => i.version),
      ['1.0.2'],
    );
    assert.deepEqual(
      b.plan.updates.map((u) => u.version),
      ['1.0.1'],
    );
    assert.deepEqual(b.migrated, [], 'the second saw the migrations the first committed');
    const rows = await readRows(t.db);
    assert.equal(rows.length, 3);
    assert.equal(rows.find((r) => r.version === '1.0.1')?.active, false);
    assert.equal(await legacyServed(t.db), '1.0.2');
  });

  it('gives up on a migration that would queue behind a long read of the table, writing nothing', async () => {
    await t.reset();
    await t.db.exec(
      'CREATE TABLE agent_releases (version text NOT NULL, download_url text NOT NULL, sha256 text NOT NULL, release_notes text, min_required_version text, active boolean NOT NULL DEFAULT true)',
    );
    const reader = await t.connect();
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let holding: () => void = () => undefined;
    const held = new Promise<void>((r) => (holding = r));
    // The server's legacy endpoint in the middle of a long read: holds ACCESS SHARE on the table.
    const reading = reader.transaction(async (tx) => {
      await tx.query('SELECT * FROM agent_releases');
      holding();
      await released;
    });
    try {
      // Only once the read holds its lock: otherwise the sync could win the race and migrate.
      await held;
      await assert.rejects(syncReleases(t.db, releaseSet(loaded('1.0.0')), { lockTimeoutMs: 200 }), (err: unknown) => {
        assert.ok(err instanceof ExternalError);
        assert.match(err.message, /lock timeout/);
        return true;
      });
    } finally {
      // Also when the assertion fails: an open read would keep the suite from closing its pool.
      release();
      await reading;
    }
    assert.deepEqual([...((await tableColumns(admin)) ?? [])].sort(), [
      'active',
      'download_url',
      'min_required_version',
      'release_notes',
      'sha256',
      'version',
    ]);
    await syncReleases(t.db, releaseSet(loaded('1.0.0')));
    assert.equal(await legacyServed(admin), '1.0.0');
  });

  it('a connection killed during the first sync leaves no table behind, and a re-run converges', async () => {
    await t.reset();
    const set = releaseSet(loaded('1.0.0'), loaded('1.0.1'));
    await assert.rejects(
      syncReleases(t.db, set, { beforeCommit: (tx) => killOwnConnection(tx, admin) }),
      (err: unknown) => {
        assert.ok(err instanceof ExternalError);
        assert.equal(err.code, 'DB_UNAVAILABLE');
        return true;
      },
    );
    assert.equal(await tableColumns(admin), null);
    const r = await syncReleases(t.db, set);
    assert.equal(r.plan.inserts.length, 2);
    assert.equal(await legacyServed(admin), '1.0.1');
  });

  it('a connection killed mid-sync leaves the table as it was, and a re-run converges', async () => {
    await t.reset();
    await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1'), loaded('1.0.2', { rollout_percent: 10 })));
    const before = await rowVersions(admin);
    const rowsBefore = await readRows(admin);
    const next = releaseSet(loaded('1.0.0', { release_notes: 'edited' }), loaded('1.0.2'), loaded('1.0.3'));
    await assert.rejects(
      syncReleases(t.db, next, { beforeCommit: (tx) => killOwnConnection(tx, admin) }),
      ExternalError,
    );
    assert.deepEqual(await rowVersions(admin), before);
    assert.deepEqual(await readRows(admin), rowsBefore);
    assert.equal(await legacyServed(admin), '1.0.1');

    const r = await syncReleases(t.db, next);
    assert.deepEqual([r.plan.inserts.length, r.plan.updates.length, r.plan.yanks.length], [1, 2, 1]);
    assert.equal(await legacyServed(admin), '1.0.3');
    assert.equal((await syncReleases(t.db, next)).wrote, false);
  });
});
