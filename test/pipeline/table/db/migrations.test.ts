import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, pendingMigrations } from '../../../../pipeline/table/db/migrate.js';
import { readRows, tableColumns } from '../../../../pipeline/table/db/rows.js';
import { syncReleases, SyncRefusedError } from '../../../../pipeline/table/sync.js';
import { COLUMNS } from '../../../../schema/sql/columns.js';
import { MIGRATIONS } from '../../../../schema/sql/index.js';
import { legacyServed, rowVersions, testBackends, type TestDatabase } from '../../../support/db.js';
import { loaded, releaseSet, shaOf } from '../../../support/releases.js';

/** The table as the mngd server made it by hand: a serial id, text columns, no unique version. */
const SEED = `CREATE TABLE agent_releases (
  id serial PRIMARY KEY,
  version text NOT NULL,
  download_url text NOT NULL,
  sha256 text NOT NULL,
  release_notes text,
  min_required_version text,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO agent_releases (version, download_url, sha256, release_notes) VALUES
  ('1.0.0', 'https://cdn.mngd.app/agent/mngd-agent-1.0.0.pkg', '${shaOf('1.0.0')}', 'First release'),
  ('1.0.1', 'https://cdn.mngd.app/agent/mngd-agent-1.0.1.pkg', '${shaOf('1.0.1')}', 'First post-beta release');
INSERT INTO agent_releases (version, download_url, sha256, min_required_version, active) VALUES
  ('1.0.2', 'https://cdn.mngd.app/agent/mngd-agent-1.0.2.pkg', '${shaOf('1.0.2')}', '1.0.1', true),
  ('1.0.10', 'https://cdn.mngd.app/agent/mngd-agent-1.0.10.pkg', '${shaOf('1.0.10')}', NULL, false);`;

const PG_TYPE = {
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
};
const byName = ([a]: unknown[], [b]: unknown[]): number => String(a).localeCompare(String(b), 'en');

async function snapshot(t: TestDatabase) {
  const { rows } = await t.db.query(
    'SELECT id, version, download_url, sha256, release_notes, min_required_version, active, created_at FROM agent_releases ORDER BY id',
  );
  return rows;
}

for (const backend of testBackends()) {
  describe(`migrations on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => (t = await backend.open()));
    after(async () => t.close());
    beforeEach(async () => t.reset());

    it('migrates a seed-shaped table with rows in place without losing a row or a value', async () => {
      await t.db.exec(SEED);
      const seed = await snapshot(t);
      assert.equal(await legacyServed(t.db), '1.0.2');
      const ran = await t.db.transaction((tx) => migrate(tx));
      assert.deepEqual(
        ran,
        MIGRATIONS.map((m) => m.id),
      );
      assert.deepEqual(await snapshot(t), seed, "ids, seed columns and the server's own columns are untouched");
      const rows = await readRows(t.db);
      const r10 = rows.find((r) => r.version === '1.0.10');
      assert.deepEqual(
        [r10?.channel, r10?.rollout_percent, r10?.yanked, r10?.managed_by, r10?.size],
        ['stable', 100, true, null, null],
      );
      assert.equal(rows.find((r) => r.version === '1.0.2')?.yanked, false);
      assert.equal(await legacyServed(t.db), '1.0.2');
      // version is unique now
      await assert.rejects(
        t.db.query(
          "INSERT INTO agent_releases (version, download_url, sha256) VALUES ('1.0.0', 'https://x.example/a.pkg', 'x')",
        ),
      );
    });

    // Reading, writing and the plan derive from COLUMNS: a column the migrations do not create
    // (or create with another type or nullability) must fail here, not in a sync.
    it('creates exactly the columns of the registry, with their types and nullability', async () => {
      await t.db.transaction((tx) => migrate(tx));
      const { rows } = await t.db.query<{ column_name: string; data_type: string; is_nullable: string }>(
        "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'agent_releases'",
      );
      assert.deepEqual(
        rows.map((r) => [r.column_name, r.data_type, r.is_nullable === 'YES']).sort(byName),
        COLUMNS.map((c) => [c.name, PG_TYPE[c.type], c.nullable]).sort(byName),
      );
    });

    it('runs each migration once: a second run changes nothing', async () => {
      await t.db.exec(SEED);
      await t.db.transaction((tx) => migrate(tx));
      const before = await rowVersions(t.db);
      assert.deepEqual(await pendingMigrations(t.db), []);
      assert.deepEqual(await t.db.transaction((tx) => migrate(tx)), []);
      assert.deepEqual(await rowVersions(t.db), before);
    });

    it('every migration is idempotent by itself, even without the ledger', async () => {
      await t.db.exec(SEED);
      for (const m of MIGRATIONS) await t.db.exec(m.sql);
      for (const m of MIGRATIONS) await t.db.exec(m.sql);
      assert.equal((await readRows(t.db)).length, 4);
    });

    it('keeps an existing unique key on version instead of adding a second', async () => {
      await t.db
        .exec(`CREATE TABLE agent_releases (version varchar(32) PRIMARY KEY, download_url varchar(2048) NOT NULL, sha256 char(64) NOT NULL,
        release_notes text, min_required_version varchar(32), active boolean DEFAULT true);
        INSERT INTO agent_releases (version, download_url, sha256) VALUES ('2.0', 'https://cdn.mngd.app/a.pkg', '${shaOf('2.0')}');`);
      await t.db.transaction((tx) => migrate(tx));
      const { rows } = await t.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'agent_releases'",
      );
      assert.equal(rows[0]?.n, 1);
      const r = await syncReleases(
        t.db,
        releaseSet(loaded('2.0', { download_url: 'https://cdn.mngd.app/a.pkg', sha256: shaOf('2.0') }), loaded('2.1')),
      );
      assert.deepEqual(
        r.plan.inserts.map((i) => i.version),
        ['2.1'],
      );
      assert.equal(await legacyServed(t.db), '2.1');
    });

    it('refuses duplicate versions with the versions named, and changes nothing', async () => {
      await t.db.exec(SEED);
      await t.db.exec(
        `INSERT INTO agent_releases (version, download_url, sha256) VALUES ('1.0.1', 'https://cdn.mngd.app/dup.pkg', '${shaOf('dup')}')`,
      );
      const columns = await tableColumns(t.db);
      await assert.rejects(syncReleases(t.db, releaseSet(loaded('1.0.0'))), (err: unknown) => {
        assert.ok(err instanceof SyncRefusedError);
        assert.ok(err.problems.some((p) => p.code === 'DB_DUPLICATE_VERSIONS' && p.message.includes('1.0.1')));
        return true;
      });
      assert.deepEqual(await tableColumns(t.db), columns);
      assert.equal(
        (await t.db.query<{ p: boolean }>("SELECT to_regclass('mngd_schema_migrations') IS NULL AS p")).rows[0]?.p,
        true,
      );
    });

    it('plan reads a table that was never migrated without altering it', async () => {
      await t.db.exec(SEED);
      const columns = await tableColumns(t.db);
      const r = await syncReleases(t.db, releaseSet(loaded('1.0.3')), { dryRun: true });
      assert.deepEqual(
        r.plan.migrations.map((m) => m.id),
        MIGRATIONS.map((m) => m.id),
      );
      assert.deepEqual(
        r.plan.unmanaged.map((u) => [u.version, u.action]),
        [
          ['1.0.10', 'refuse'],
          ['1.0.2', 'refuse'],
          ['1.0.1', 'refuse'],
          ['1.0.0', 'refuse'],
        ],
      );
      assert.deepEqual(r.plan.legacy, {
        before: { version: '1.0.2', min_required_version: '1.0.1' },
        after: { version: '1.0.3', min_required_version: null },
      });
      assert.deepEqual(await tableColumns(t.db), columns);
    });
  });
}
