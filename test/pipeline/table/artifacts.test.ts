import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { syncReleases, SyncRefusedError } from '../../../pipeline/table/sync.js';
import { readRows } from '../../../pipeline/table/db/rows.js';
import { readArtifactRows } from '../../../pipeline/table/db/artifact-rows.js';
import { seedTable } from '../../../schema/sql/001_seed_table.js';
import { legacyServed, testBackends, type TestDatabase } from '../../support/db.js';
import { loaded, releaseSet } from '../../support/releases.js';
import type { Artifact } from '../../../schema/artifacts.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const opts = { now: () => NOW };
const U = 'https://cdn.example.com/agent/';
const art = (arch: Artifact['arch'], version: string, c: string): Artifact => ({
  arch,
  download_url: `${U}${arch}-${version}.pkg`,
  sha256: c.repeat(64),
  size: 100 + c.charCodeAt(0),
});
/** a release file with artifacts, as the loader gives it (the legacy fields from the legacy artifact) */
function perArch(version: string, artifacts: Artifact[]) {
  const legacy = artifacts.find((a) => a.arch === 'universal') ?? artifacts.find((a) => a.arch === 'x86_64')!;
  return loaded(version, { artifacts, download_url: legacy.download_url, sha256: legacy.sha256, size: legacy.size });
}

for (const backend of testBackends()) {
  describe(`agent_release_artifacts on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => (t = await backend.open()));
    after(async () => t.close());
    beforeEach(async () => t.reset());

    it('migrates a seed table with rows without losing one, then writes both tables in one sync', async () => {
      await t.db.exec(seedTable.sql);
      await t.db.exec(
        `INSERT INTO agent_releases (version, download_url, sha256, active) VALUES ('0.9', '${U}0.9.pkg', '${'9'.repeat(64)}', true), ('0.8', '${U}0.8.pkg', '${'8'.repeat(64)}', false)`,
      );
      const set = releaseSet(
        loaded('0.9', { download_url: `${U}0.9.pkg`, sha256: '9'.repeat(64) }),
        loaded('0.8', { download_url: `${U}0.8.pkg`, sha256: '8'.repeat(64), active: false }),
        perArch('1.0.0', [art('universal', '1.0.0', 'a'), art('arm64', '1.0.0', 'b'), art('x86_64', '1.0.0', 'c')]),
        perArch('1.1.0', [art('arm64', '1.1.0', 'd'), art('x86_64', '1.1.0', 'e')]),
      );
      const r = await syncReleases(t.db, set, opts);
      assert.ok(r.migrated.includes('004_release_artifacts'));
      const rows = await readRows(t.db);
      assert.deepEqual(rows.map((x) => x.version).sort(), ['0.8', '0.9', '1.0.0', '1.1.0']);
      const v100 = rows.find((x) => x.version === '1.0.0')!;
      assert.deepEqual([v100.download_url, v100.active], [`${U}universal-1.0.0.pkg`, true]);
      // no universal package: the seed columns carry the x86_64 copy, never served to the legacy endpoint
      const v110 = rows.find((x) => x.version === '1.1.0')!;
      assert.deepEqual([v110.download_url, v110.active], [`${U}x86_64-1.1.0.pkg`, false]);
      assert.equal(await legacyServed(t.db), '1.0.0');
      const arts = (await readArtifactRows(t.db)).map((a) => `${a.version} ${a.arch} ${a.size}`).sort();
      assert.deepEqual(arts, ['1.0.0 arm64 198', '1.0.0 x86_64 199', '1.1.0 arm64 200', '1.1.0 x86_64 201']);
      // nothing to change: nothing written, the plan says so
      const again = await syncReleases(t.db, set, opts);
      assert.equal(again.wrote, false);
    });

    it('refuses a changed per-arch package and writes neither table', async () => {
      const first = releaseSet(perArch('1.1.0', [art('arm64', '1.1.0', 'd'), art('x86_64', '1.1.0', 'e')]));
      await syncReleases(t.db, first, opts);
      const changed = releaseSet(
        perArch('1.1.0', [art('arm64', '1.1.0', 'f'), art('x86_64', '1.1.0', 'e')]),
        loaded('1.2.0'),
      );
      try {
        await syncReleases(t.db, changed, opts);
        assert.fail('sync was expected to refuse');
      } catch (err) {
        assert.ok(err instanceof SyncRefusedError);
        assert.match(err.problems[0]!.message, /sha256 of 1\.1\.0 \(arm64\) is .* in agent_release_artifacts/);
      }
      assert.deepEqual(
        (await readRows(t.db)).map((x) => x.version),
        ['1.1.0'],
      );
      assert.equal((await readArtifactRows(t.db)).find((a) => a.arch === 'arm64')?.sha256, 'd'.repeat(64));
    });

    it('rolls both tables back together when the transaction fails after the artifacts were written', async () => {
      const set = releaseSet(perArch('1.1.0', [art('arm64', '1.1.0', 'd'), art('x86_64', '1.1.0', 'e')]));
      await assert.rejects(
        syncReleases(t.db, set, {
          ...opts,
          beforeCommit: async () => {
            throw new Error('the link dropped');
          },
        }),
      );
      assert.deepEqual(await readArtifactRows(t.db), []);
      assert.deepEqual(await readRows(t.db), []);
    });
  });
}
