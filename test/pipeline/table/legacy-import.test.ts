/**
 * Adopting the raw-SQL era as a user does, through the CLI: test/fixtures/legacy/agent_releases.sql
 * holds every mistake hand-written INSERTs leave (the same version twice, 1.1 beside 1.1.0,
 * v1.2.0, an uppercase and a short hash, http, empty notes, NULL active, a floor above every
 * version). import refuses before writing anything, names each row and prints the SQL; after
 * running it, import adopts every row, plan changes no release, sync adopts and drift is clean.
 * On PGlite (the embedded database under MNGD_STATE_DIR) and on PostgreSQL (TEST_DATABASE_URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../../pipeline/table/db/database.js';
import { openPglite } from '../../../pipeline/table/db/pglite.js';
import { changesNoRelease, isNoop } from '../../../pipeline/table/plan.js';
import { planFor } from '../../../pipeline/table/sync.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { openTestPostgres, preparePgliteDir, testBackends } from '../../support/db.js';
import { FIXTURES, runRelease } from '../../support/cli.js';
import { routes, servePackage, startHttpsServer, type TestServer } from '../../support/https-server.js';
import { releaseRepo } from '../../support/release-repo.js';
import { testTls } from '../../support/tls.js';

const VERSIONS = ['1.0.0', '1.0.1', '1.0.2', '1.1.0', '1.2.0', '1.2.1', '1.2.2', '1.2.3', '1.2.4'];
const pkg = (v: string) => Buffer.from(`mngd-agent ${v}\n`.repeat(2000));

interface Backend {
  env: Record<string, string>;
  use<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function open(name: 'pglite' | 'postgres'): Promise<Backend> {
  if (name === 'postgres') {
    const t = await openTestPostgres(process.env['TEST_DATABASE_URL'] as string);
    return { env: { DATABASE_URL: t.url as string }, use: (fn) => fn(t.db), close: () => t.close() };
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'mngd-state-'));
  await preparePgliteDir(join(stateDir, 'pglite'));
  return {
    env: { MNGD_STATE_DIR: stateDir },
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

/** The statements between BEGIN; and COMMIT; that import printed. */
function printedSql(stderr: string): string {
  const m = /\nBEGIN;\n([\s\S]*?)\nCOMMIT;\n/.exec(stderr);
  assert.ok(m, stderr);
  return m[1]!;
}

for (const { name } of testBackends()) {
  describe(`adopting a legacy table on ${name}`, () => {
    let srv: TestServer;
    let b: Backend;
    const ca = testTls().caFile;
    before(async () => {
      const table: Record<string, ReturnType<typeof servePackage>> = {};
      for (const v of VERSIONS) table[`/pkg/mngd-agent-${v}.pkg`] = servePackage(pkg(v));
      srv = await startHttpsServer(routes(table));
      b = await open(name);
    });
    after(async () => {
      await b.close();
      await srv.close();
    });

    const seed = async () => {
      const sql = (await readFile(join(FIXTURES, 'legacy', 'agent_releases.sql'), 'utf8')).replaceAll(
        '{{HOST}}',
        new URL(srv.origin).host,
      );
      await b.use(async (db) => db.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public; ${sql}`));
    };
    const run = (argv: string[], cwd: string) => runRelease(argv, { cwd, env: b.env });
    const files = async (root: string) => (await readdir(join(root, 'releases'))).sort();

    it('names every row with its way out, writes nothing, and after the printed SQL adopts them all', async () => {
      await seed();
      const root = await releaseRepo({ prefixes: [srv.url('/pkg/')], releases: [] });
      const refused = await run(['import', '--ca-file', ca], root);
      assert.equal(refused.code, 1, refused.stderr);
      assert.deepEqual(await files(root), ['policy.yaml'], 'nothing half-written');
      const lines = refused.stderr.split('\n').filter((l) => / error [A-Z_0-9]+: /.test(l));
      assert.deepEqual(
        lines.map((l) => /^(\S+): error ([A-Z_0-9]+):/.exec(l)?.slice(1)),
        [
          ['releases/1.0.2.yaml', 'DB_DUPLICATE_VERSIONS'],
          ['releases/1.1.0.yaml', 'DB_DUPLICATE_VERSIONS'],
          ['releases/1.2.0.yaml', 'DB_ROW_VERSION_INVALID'],
          ['releases/1.2.1.yaml', 'RELEASE_BAD_SHA256'],
          ['releases/1.2.2.yaml', 'RELEASE_BAD_DOWNLOAD_URL'],
          ['releases/1.2.4.yaml', 'RELEASE_FLOOR_ABOVE_VERSION'],
        ],
        refused.stderr,
      );
      const host = new URL(srv.origin).host;
      assert.ok(
        lines.includes(
          `releases/1.2.0.yaml: error DB_ROW_VERSION_INVALID: agent_releases has version 'v1.2.0' (sha256 ff61af233a20…, https://${host}/pkg/mngd-agent-1.2.0.pkg, active), which is not a dotted numeric version; the legacy endpoint cannot sort it and no release file can name it. Write it as 1.2.0: UPDATE agent_releases SET version = '1.2.0' WHERE version = 'v1.2.0';`,
        ),
        refused.stderr,
      );
      assert.ok(
        lines.includes(
          `releases/1.2.1.yaml: error RELEASE_BAD_SHA256: agent_releases version '1.2.1' (sha256 42e07a7e49e9…, https://${host}/pkg/mngd-agent-1.2.1.pkg, active): sha256 '42e07a7e49e9' is the first 12 characters of the package's SHA-256 (downloaded from https://${host}/pkg/mngd-agent-1.2.1.pkg); write the whole hash: UPDATE agent_releases SET sha256 = '42e07a7e49e952bbac97125137ef0cd4fe4640d72fa4455700c02755044ae652' WHERE version = '1.2.1';`,
        ),
        refused.stderr,
      );
      assert.match(refused.stderr, /\nNothing was imported: 6 problems \(above\)\.\n/);
      const sql = printedSql(refused.stderr);
      assert.doesNotMatch(sql, /^--/m, 'every statement runs as printed');
      assert.equal(sql.split('\n').length, 6, sql);
      assert.ok(
        lines.includes(
          `releases/1.1.0.yaml: error DB_DUPLICATE_VERSIONS: agent_releases has 2 rows for version 1.1.0: version '1.1' (sha256 ba46aead797f…, https://${host}/pkg/mngd-agent-1.1.0.pkg, active); version '1.1.0' (sha256 ba46aead797f…, https://${host}/pkg/mngd-agent-1.1.0.pkg, active). One version is one release to every agent; expected one row. Keep one: DELETE FROM agent_releases WHERE version = '1.1' AND sha256 = 'ba46aead797fc11df5046a85adecc7105d30ccc5613b46c857f4da36fc020e3b'; (this keeps version '1.1.0' (sha256 ba46aead797f…, https://${host}/pkg/mngd-agent-1.1.0.pkg, active); to keep another, delete the others instead)`,
        ),
        refused.stderr,
      );
      // The user runs the printed SQL (psql), then imports again.
      await b.use((db) => db.exec(sql));
      const imported = await run(['import', '--ca-file', ca], root);
      assert.equal(imported.code, 0, imported.stderr);
      assert.deepEqual(await files(root), [...VERSIONS.map((v) => `${v}.yaml`), 'policy.yaml'].sort());
      assert.match(imported.stderr, /releases\/1\.2\.3\.yaml: warning IMPORT_ACTIVE_NULL: /);
      assert.match(imported.stderr, /releases\/1\.2\.3\.yaml: warning IMPORT_NOTES_EMPTY: /);
      const upper = await readFile(join(root, 'releases', '1.0.1.yaml'), 'utf8');
      assert.match(upper, /^sha256: 92e58ae34af745f904b10be31cb8fc02539c158b41edab9ebee9909e4d51d7eb$/m);
      assert.match(await readFile(join(root, 'releases', '1.2.3.yaml'), 'utf8'), /^active: false$/m);

      assert.equal((await run(['validate'], root)).code, 0);
      const set = await loadReleaseSet(root);
      const plan = await b.use((db) => planFor(db, set));
      assert.deepEqual(plan.problems, []);
      assert.equal(changesNoRelease(plan), true, JSON.stringify(plan.updates));
      assert.deepEqual(plan.legacy.before, plan.legacy.after);
      const synced = await run(['sync'], root);
      assert.equal(synced.code, 0, synced.stderr);
      const drift = await run(['drift', '--only', 'table'], root);
      assert.equal(drift.code, 0, drift.stdout);
      assert.match(drift.stdout, /No drift: the table matches git/);
      assert.equal(isNoop(await b.use((db) => planFor(db, set))), true);
      // The same hash, now written lowercase in the table too.
      const row = await b.use((db) =>
        db.query<{ sha256: string }>("SELECT sha256::text AS sha256 FROM agent_releases WHERE version = '1.0.1'"),
      );
      assert.equal(row.rows[0]?.sha256, '92e58ae34af745f904b10be31cb8fc02539c158b41edab9ebee9909e4d51d7eb');
    });

    it('offline, refuses the same rows and leaves what needs a person as a "--" line', async () => {
      await seed();
      const root = await releaseRepo({ prefixes: [srv.url('/pkg/')], releases: [] });
      const before = srv.requests.length;
      const r = await run(['import', '--offline'], root);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(srv.requests.length, before, 'no download');
      assert.deepEqual(await files(root), ['policy.yaml']);
      assert.match(
        printedSql(r.stderr),
        /^-- UPDATE agent_releases SET sha256 = '<the 64 hex characters mngd-release hash prints>' WHERE version = '1\.2\.1';$/m,
      );
    });
  });
}
