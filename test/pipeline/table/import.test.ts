import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHttpClient } from '../../../agent/http/index.js';
import { importReleases, SIZE_PLACEHOLDER } from '../../../pipeline/table/import.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { changesNoRelease, isNoop } from '../../../pipeline/table/plan.js';
import { SCHEMA_LINE } from '../../../pipeline/releases/release-yaml.js';
import { planFor, syncReleases } from '../../../pipeline/table/sync.js';
import { legacyServed, testBackends, type TestDatabase } from '../../support/db.js';
import { routes, servePackage, startHttpsServer, status, type TestServer } from '../../support/https-server.js';
import { releaseRepo, sha256Hex } from '../../support/release-repo.js';
import { testTls } from '../../support/tls.js';

const pkg = (v: string) => Buffer.from(`mngd-agent ${v} `.repeat(100 + v.length));

/** The raw-SQL era: the server's own table, filled by hand, never touched by the pipeline. */
function seed(
  srv: TestServer,
  rows: { version: string; sha256?: string; notes?: string; floor?: string; active?: boolean }[],
): string {
  const values = rows.map(
    (r) =>
      `('${r.version}', '${srv.url(`/pkg/${r.version}.pkg`)}', '${r.sha256 ?? sha256Hex(pkg(r.version))}', ${r.notes ? `'${r.notes.replace(/'/g, "''")}'` : 'NULL'}, ${r.floor ? `'${r.floor}'` : 'NULL'}, ${r.active ?? true})`,
  );
  return `CREATE TABLE agent_releases (id serial PRIMARY KEY, version text NOT NULL, download_url text NOT NULL, sha256 text NOT NULL,
    release_notes text, min_required_version text, active boolean NOT NULL DEFAULT true);
    INSERT INTO agent_releases (version, download_url, sha256, release_notes, min_required_version, active) VALUES ${values.join(', ')};`;
}

for (const backend of testBackends()) {
  describe(`import on ${backend.name}`, () => {
    let t: TestDatabase;
    let srv: TestServer;
    const http = createHttpClient({ bin: 'mngd-release', caFile: testTls().caFile, retries: { limit: 0 } });
    before(async () => {
      t = await backend.open();
      const table: Record<string, ReturnType<typeof servePackage>> = {};
      for (const v of ['1.0.0', '1.0.1', '1.0.2', '1.1.0']) table[`/pkg/${v}.pkg`] = servePackage(pkg(v));
      table['/pkg/gone.pkg'] = status(404);
      srv = await startHttpsServer(routes(table));
    });
    after(async () => {
      await srv.close();
      await t.close();
    });
    beforeEach(async () => t.reset());

    const repo = () =>
      releaseRepo({
        prefixes: [srv.url('/pkg/')],
        releases: [{ version: '1.0.2', url: srv.url('/pkg/1.0.2.pkg'), body: pkg('1.0.2') }],
      });

    it('writes a checked file for every unmanaged row without one, after which plan changes no release', async () => {
      await t.db.exec(
        seed(srv, [
          { version: '1.0.0', notes: 'First release', active: false },
          { version: '1.0.1', notes: 'It\'s "quoted"\nand multi-line', floor: '1.0.0' },
          { version: '1.0.2' },
        ]),
      );
      const root = await repo();
      const set = await loadReleaseSet(root);
      const r = await importReleases(t.db, set, { http });
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.files, [
        { version: '1.0.1', file: 'releases/1.0.1.yaml', size: pkg('1.0.1').length },
        { version: '1.0.0', file: 'releases/1.0.0.yaml', size: pkg('1.0.0').length },
      ]);
      const text = await readFile(join(root, 'releases', '1.0.0.yaml'), 'utf8');
      assert.equal(text.split('\n')[0], SCHEMA_LINE);
      assert.match(text, /^active: false$/m);

      const after = await loadReleaseSet(root);
      assert.deepEqual(after.problems, []);
      const plan = await planFor(t.db, after);
      assert.equal(changesNoRelease(plan), true, JSON.stringify(plan.updates));
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(
        plan.updates.map((u) => u.version),
        ['1.0.2', '1.0.1', '1.0.0'],
      );
      assert.deepEqual(plan.legacy.before, plan.legacy.after);
      assert.ok(plan.floors.every((f) => f.before === f.after));

      await syncReleases(t.db, after);
      assert.equal(isNoop(await planFor(t.db, after)), true);
      assert.equal(await legacyServed(t.db), '1.0.2');
      // From now on removing a file yanks its row instead of refusing.
      await unlink(join(root, 'releases', '1.0.2.yaml'));
      const yanked = await syncReleases(t.db, await loadReleaseSet(root));
      assert.deepEqual(
        yanked.plan.yanks.map((y) => y.reason),
        ['file-removed'],
      );
      assert.equal(await legacyServed(t.db), '1.0.1');
    });

    it("writes nothing when a package does not match the row's sha256", async () => {
      await t.db.exec(seed(srv, [{ version: '1.0.0' }, { version: '1.0.1', sha256: 'e'.repeat(64) }]));
      const root = await repo();
      const r = await importReleases(t.db, await loadReleaseSet(root), { http });
      assert.deepEqual(
        r.problems.map((p) => [p.code, p.file]),
        [['IMPORT_SHA256_MISMATCH', 'releases/1.0.1.yaml']],
      );
      assert.equal(r.external, false);
      assert.deepEqual((await readdir(join(root, 'releases'))).sort(), ['1.0.2.yaml', 'policy.yaml']);
    });

    it('writes nothing when a package cannot be downloaded, and says to retry', async () => {
      await t.db.exec(seed(srv, [{ version: '1.0.0' }]));
      await t.db.exec(`UPDATE agent_releases SET download_url = '${srv.url('/pkg/gone.pkg')}'`);
      const root = await repo();
      const r = await importReleases(t.db, await loadReleaseSet(root), { http });
      assert.deepEqual(
        r.problems.map((p) => p.code),
        ['IMPORT_DOWNLOAD_FAILED'],
      );
      assert.equal(r.external, true);
      assert.deepEqual((await readdir(join(root, 'releases'))).sort(), ['1.0.2.yaml', 'policy.yaml']);
    });

    it('offline, writes files without size that validation then flags', async () => {
      await t.db.exec(seed(srv, [{ version: '1.1.0' }]));
      const root = await repo();
      const before = srv.requests.length;
      const r = await importReleases(t.db, await loadReleaseSet(root), { offline: true });
      assert.deepEqual(r.files, [{ version: '1.1.0', file: 'releases/1.1.0.yaml', size: null }]);
      assert.equal(srv.requests.length, before, 'no download');
      const text = await readFile(join(root, 'releases', '1.1.0.yaml'), 'utf8');
      assert.ok(text.includes(SIZE_PLACEHOLDER));
      const set = await loadReleaseSet(root);
      assert.ok(set.problems.some((p) => p.file === 'releases/1.1.0.yaml' && p.severity === 'error'));
    });

    it('never overwrites a file and never brings back a row the pipeline yanked', async () => {
      await t.db.exec(seed(srv, [{ version: '1.0.0' }]));
      const root = await repo();
      await writeFile(join(root, 'releases', '1.0.0.yaml'), 'version: "1.0.0"\n# being written by hand\n');
      const none = await importReleases(t.db, await loadReleaseSet(root), { http });
      assert.deepEqual(none.files, []);
      assert.equal(
        await readFile(join(root, 'releases', '1.0.0.yaml'), 'utf8'),
        'version: "1.0.0"\n# being written by hand\n',
      );

      await t.reset();
      const managed = await releaseRepo({
        prefixes: [srv.url('/pkg/')],
        releases: [{ version: '1.0.1', url: srv.url('/pkg/1.0.1.pkg'), body: pkg('1.0.1') }],
      });
      await syncReleases(t.db, await loadReleaseSet(managed));
      await unlink(join(managed, 'releases', '1.0.1.yaml'));
      await syncReleases(t.db, await loadReleaseSet(managed));
      const again = await importReleases(t.db, await loadReleaseSet(managed), { http });
      assert.deepEqual(again.files, []);
    });
  });
}
