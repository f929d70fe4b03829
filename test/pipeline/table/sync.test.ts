import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { syncReleases, SyncRefusedError } from '../../../pipeline/table/sync.js';
import { readRows } from '../../../pipeline/table/db/rows.js';
import { legacyServed, rowVersions, testBackends, type TestDatabase } from '../../support/db.js';
import { loaded, releaseSet } from '../../support/releases.js';

const NOW = new Date('2026-11-27T03:00:00Z');
const opts = { now: () => NOW };

async function row(t: TestDatabase, version: string) {
  const rows = await readRows(t.db);
  return rows.find((r) => r.version === version);
}

async function refused(p: Promise<unknown>): Promise<SyncRefusedError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SyncRefusedError, `expected SyncRefusedError, got ${String(err)}`);
    assert.equal(err.code, 'SYNC_REFUSED');
    return err;
  }
  assert.fail('sync was expected to refuse');
}

for (const backend of testBackends()) {
  describe(`sync on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => (t = await backend.open()));
    after(async () => t.close());
    beforeEach(async () => t.reset());

    it('creates the table on an empty database and inserts every release', async () => {
      const r = await syncReleases(
        t.db,
        releaseSet(loaded('1.0.0'), loaded('1.0.1', { release_notes: 'fixes' })),
        opts,
      );
      assert.equal(r.wrote, true);
      assert.deepEqual(r.migrated, [
        '001_seed_table',
        '002_pipeline_columns',
        '003_version_unique',
        '004_release_artifacts',
      ]);
      assert.deepEqual(
        r.plan.inserts.map((i) => i.version),
        ['1.0.1', '1.0.0'],
      );
      const got = await row(t, '1.0.1');
      assert.equal(got?.release_notes, 'fixes');
      assert.equal(got?.size, 1005);
      assert.equal(got?.managed_by, 'mngd-release');
      assert.equal(got?.synced_at?.toISOString(), NOW.toISOString());
      assert.equal(await legacyServed(t.db), '1.0.1');
    });

    it('a second sync with nothing to change writes no row (xmin unchanged)', async () => {
      const set = releaseSet(
        loaded('1.0.0'),
        loaded('1.0.1', { channel: 'beta' }),
        loaded('1.0.2', { rollout_percent: 5, min_required_version: '1.0.0' }),
      );
      await syncReleases(t.db, set, opts);
      const before = await rowVersions(t.db);
      const ledger = await t.db.query<{ xmin: string }>('SELECT xmin::text FROM mngd_schema_migrations');
      let xid: unknown = 'not read';
      const r = await syncReleases(t.db, set, {
        now: () => new Date(NOW.getTime() + 60_000),
        // A transaction that wrote anything, anywhere, has a transaction id by now.
        beforeCommit: async (tx) =>
          void (xid = (await tx.query<{ x: unknown }>('SELECT txid_current_if_assigned() AS x')).rows[0]?.x),
      });
      assert.equal(xid, null);
      assert.equal(r.wrote, false);
      assert.equal(r.plan.unchanged, 3);
      assert.deepEqual(await rowVersions(t.db), before);
      assert.deepEqual(
        (await t.db.query<{ xmin: string }>('SELECT xmin::text FROM mngd_schema_migrations')).rows,
        ledger.rows,
      );
      assert.equal((await row(t, '1.0.0'))?.synced_at?.toISOString(), NOW.toISOString());
      assert.equal(await legacyServed(t.db), '1.0.0');
    });

    it('updates mutable fields of the changed row only', async () => {
      await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1', { rollout_percent: 10 })), opts);
      const before = await rowVersions(t.db);
      assert.equal(await legacyServed(t.db), '1.0.0');
      const r = await syncReleases(
        t.db,
        releaseSet(
          loaded('1.0.0'),
          loaded('1.0.1', { rollout_percent: 100, release_notes: 'now for all', min_required_version: '1.0.0' }),
        ),
        opts,
      );
      assert.deepEqual(
        r.plan.updates[0]?.changes.map((c) => [c.field, c.from, c.to]),
        [
          ['release_notes', null, 'now for all'],
          ['min_required_version', null, '1.0.0'],
          ['active', false, true],
          ['rollout_percent', 10, 100],
        ],
      );
      const afterVersions = await rowVersions(t.db);
      assert.equal(afterVersions.get('1.0.0'), before.get('1.0.0'));
      assert.notEqual(afterVersions.get('1.0.1'), before.get('1.0.1'));
      const got = await row(t, '1.0.1');
      assert.equal(got?.active, true);
      assert.equal(got?.min_required_version, '1.0.0');
      assert.equal(await legacyServed(t.db), '1.0.1');
    });

    it('yanks a managed row whose file was removed, and never deletes it', async () => {
      await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1')), opts);
      const r = await syncReleases(t.db, releaseSet(loaded('1.0.0')), opts);
      assert.deepEqual(
        r.plan.yanks.map((y) => [y.version, y.reason]),
        [['1.0.1', 'file-removed']],
      );
      assert.ok(r.plan.warnings.some((w) => w.code === 'NEWEST_YANKED' && w.channel === 'stable'));
      const got = await row(t, '1.0.1');
      assert.equal(got?.active, false);
      assert.equal(got?.yanked, true);
      assert.equal((await readRows(t.db)).length, 2);
      assert.equal(await legacyServed(t.db), '1.0.0');
    });

    it('yanks a release whose file says active: false, and un-yanks it when set back', async () => {
      await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1')), opts);
      const r = await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1', { active: false })), opts);
      assert.deepEqual(
        r.plan.yanks.map((y) => [y.version, y.reason]),
        [['1.0.1', 'file-says-inactive']],
      );
      assert.equal(await legacyServed(t.db), '1.0.0');
      await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1')), opts);
      assert.equal(await legacyServed(t.db), '1.0.1');
    });

    it('keeps staged and beta releases active = false until they are stable at 100 %', async () => {
      await syncReleases(
        t.db,
        releaseSet(loaded('1.0.0'), loaded('1.1.0', { rollout_percent: 20 }), loaded('1.2.0', { channel: 'beta' })),
        opts,
      );
      assert.equal((await row(t, '1.1.0'))?.active, false);
      assert.equal((await row(t, '1.1.0'))?.yanked, false);
      assert.equal((await row(t, '1.2.0'))?.active, false);
      assert.equal(await legacyServed(t.db), '1.0.0');
      await syncReleases(
        t.db,
        releaseSet(loaded('1.0.0'), loaded('1.1.0'), loaded('1.2.0', { channel: 'beta' })),
        opts,
      );
      assert.equal(await legacyServed(t.db), '1.1.0');
      await syncReleases(
        t.db,
        releaseSet(loaded('1.0.0'), loaded('1.1.0'), loaded('1.2.0', { rollout_percent: 0 })),
        opts,
      );
      assert.equal(await legacyServed(t.db), '1.1.0');
      await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.1.0'), loaded('1.2.0')), opts);
      assert.equal(await legacyServed(t.db), '1.2.0');
    });

    for (const field of ['download_url', 'sha256', 'size'] as const) {
      it(`aborts on a changed ${field}, naming the file and line, and writes nothing`, async () => {
        await syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.1')), opts);
        const before = await rowVersions(t.db);
        const changed =
          field === 'size'
            ? { size: 7 }
            : field === 'sha256'
              ? { sha256: 'a'.repeat(64) }
              : { download_url: 'https://cdn.example.com/other.pkg' };
        // Also a new version and a yank in the same set: neither may be written.
        const err = await refused(syncReleases(t.db, releaseSet(loaded('1.0.1', changed), loaded('1.0.2')), opts));
        const p = err.problems.find((x) => x.code === 'IMMUTABLE_FIELD_CHANGED');
        assert.equal(p?.file, 'releases/1.0.1.yaml');
        assert.equal(typeof p?.line, 'number');
        assert.deepEqual(await rowVersions(t.db), before);
        assert.equal(await legacyServed(t.db), '1.0.1');
      });
    }

    it('refuses rows the pipeline never managed until they are imported or explicitly yanked', async () => {
      await syncReleases(t.db, releaseSet(loaded('1.0.0')), opts);
      await t.db.query(
        "INSERT INTO agent_releases (version, download_url, sha256, release_notes) VALUES ('1.0.5', 'https://cdn.example.com/agent/raw.pkg', $1, 'by hand')",
        ['b'.repeat(64)],
      );
      assert.equal(await legacyServed(t.db), '1.0.5');
      const before = await rowVersions(t.db);
      const err = await refused(syncReleases(t.db, releaseSet(loaded('1.0.0'), loaded('1.0.6')), opts));
      assert.deepEqual(
        err.problems.map((p) => [p.code, p.file]),
        [['UNMANAGED_ROW', 'releases/1.0.5.yaml']],
      );
      assert.deepEqual(await rowVersions(t.db), before);

      // With its file (what import writes), the row is adopted: no field changes.
      const file = loaded('1.0.5', {
        download_url: 'https://cdn.example.com/agent/raw.pkg',
        sha256: 'b'.repeat(64),
        release_notes: 'by hand',
      });
      const adopt = await syncReleases(t.db, releaseSet(loaded('1.0.0'), file), { ...opts, dryRun: true });
      assert.deepEqual(
        adopt.plan.updates.map((u) => u.changes.map((c) => c.field)),
        [['size', 'managed_by']],
      );
      assert.deepEqual(await rowVersions(t.db), before, 'a dry run writes nothing');

      const yank = await syncReleases(t.db, releaseSet(loaded('1.0.0')), { ...opts, yankUnmanaged: true });
      assert.deepEqual(
        yank.plan.yanks.map((y) => [y.version, y.reason]),
        [['1.0.5', 'unmanaged-yanked']],
      );
      assert.equal(await legacyServed(t.db), '1.0.0');
      const again = await syncReleases(t.db, releaseSet(loaded('1.0.0')), opts);
      assert.equal(again.wrote, false, 'once yanked, the row is managed: no more refusal');
    });

    it('serializes two syncs started at once on two connections', async () => {
      const other = await t.connect();
      const set = releaseSet(...Array.from({ length: 50 }, (_, i) => loaded(`2.0.${i}`)));
      const [a, b] = await Promise.all([syncReleases(t.db, set, opts), syncReleases(other, set, opts)]);
      // Exactly one inserted; the other waited for the lock, saw the rows and had nothing to do.
      assert.deepEqual([a.plan.inserts.length, b.plan.inserts.length].sort(), [0, 50]);
      assert.equal((await readRows(t.db)).length, 50);
      assert.equal(await legacyServed(t.db), '2.0.49');
    });
  });
}
