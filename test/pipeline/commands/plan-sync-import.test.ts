/**
 * plan, sync and import as a user runs them: through the CLI, with DATABASE_URL (PostgreSQL,
 * when TEST_DATABASE_URL is set) or the embedded PGlite under MNGD_STATE_DIR.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../../pipeline/table/db/database.js';
import { openPglite } from '../../../pipeline/table/db/pglite.js';
import { openTestPostgres, preparePgliteDir, type TestDatabase } from '../../support/db.js';
import { runBin, runRelease } from '../../support/cli.js';
import { releaseRepo, releaseYaml, type TestRelease } from '../../support/release-repo.js';

const PREFIX = 'https://cdn.example.com/agent/';
const rel = (version: string, over: Partial<TestRelease> = {}): TestRelease => ({
  version,
  url: `${PREFIX}${version}.pkg`,
  body: Buffer.from(`pkg ${version}`),
  ...over,
});
const NOW = new Date('2026-11-27T03:00:00Z');

describe(`plan, sync and import commands on ${process.env['TEST_DATABASE_URL'] ? 'PostgreSQL' : 'embedded PGlite'}`, () => {
  let pgdb: TestDatabase | undefined;
  let env: Record<string, string>;
  let stateDir: string;
  /** runs `fn` on the command's database (PGlite: opened only while no command runs) */
  let direct: <T>(fn: (db: Database) => Promise<T>) => Promise<T>;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mngd-state-'));
    const url = process.env['TEST_DATABASE_URL'];
    if (url) {
      const t = await openTestPostgres(url);
      pgdb = t;
      env = { DATABASE_URL: t.url as string };
      direct = (fn) => fn(t.db);
    } else {
      env = { MNGD_STATE_DIR: stateDir };
      await preparePgliteDir(join(stateDir, 'pglite'));
      direct = async (fn) => {
        const db = await openPglite(join(stateDir, 'pglite'));
        try {
          return await fn(db);
        } finally {
          await db.close();
        }
      };
    }
  });
  after(async () => pgdb?.close());

  const run = (argv: string[], cwd: string, extra: Record<string, string> = {}) =>
    runRelease(argv, { cwd, env: { ...env, ...extra }, now: NOW });
  const tableExists = () =>
    direct(
      async (db) =>
        (await db.query<{ t: boolean }>("SELECT to_regclass('agent_releases') IS NOT NULL AS t")).rows[0]?.t,
    );

  it('refuses invalid releases before touching the database (exit 1)', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('1.0.0')] });
    await writeFile(join(root, 'releases', '1.0.1.yaml'), 'version: "1.0.1"\nsha256: nope\n');
    for (const cmd of ['plan', 'sync']) {
      const r = await run([cmd], root);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /releases\/1\.0\.1\.yaml:\d+:\d+: error/);
    }
    assert.equal(await tableExists(), false);
  });

  it('plans, dry-runs, syncs, then has nothing to do', async () => {
    const root = await releaseRepo({
      prefixes: [PREFIX],
      releases: [rel('1.0.0'), rel('1.0.1', { rollout_percent: 10 }), rel('1.1.0', { channel: 'beta' })],
    });
    const plan = await run(['plan'], root);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /3 to insert/);
    assert.match(plan.stdout, /Legacy endpoint \/api\/v1\/agent\/latest serves: nothing \(404\) -> 1\.0\.0/);
    // plan read the manifests too: sync alone would leave them unpublished
    assert.match(
      plan.stdout,
      /\nRun "mngd-release apply" to apply it: verify the packages, sync the table, publish the manifests\.\n$/,
    );
    const tableOnly = await run(['plan', '--skip-manifests'], root);
    assert.match(
      tableOnly.stdout,
      /\nRun "mngd-release sync" to apply it \(the manifests were not planned: --skip-manifests\)\.\n$/,
    );
    const dry = await run(['sync', '--dry-run', '--json'], root);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).wrote, false);
    assert.equal(await tableExists(), false, 'plan and --dry-run write nothing');

    const sync = await run(['sync'], root);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /Synced in one transaction: inserted 3, updated 0, yanked 0, ran 4 migration\(s\)\./);
    const again = await run(['sync', '--json'], root);
    assert.equal(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout);
    assert.equal(json.wrote, false);
    assert.equal(json.plan.unchanged, 3);
    const noop = await run(['plan', '--skip-manifests'], root);
    assert.equal(noop.code, 0, noop.stderr);
    assert.match(noop.stdout, /\nNothing for "mngd-release sync" to do: the table already matches git\.\n$/);
    // the table matches, nothing is published yet: apply (or publish) is what is left
    const unpublished = await run(['plan'], root);
    assert.match(
      unpublished.stdout,
      /\nThe table already matches git; the manifests do not: "mngd-release apply" \(or publish\) writes them\.\n$/,
    );
    const legacy = await direct((db) =>
      db.query<{ version: string }>(
        "SELECT version FROM agent_releases WHERE active ORDER BY string_to_array(version, '.')::int[] DESC LIMIT 1",
      ),
    );
    assert.equal(legacy.rows[0]?.version, '1.0.0');

    // A changed sha256: plan and sync exit 1 and name the line; nothing is written.
    await writeFile(join(root, 'releases', '1.0.0.yaml'), releaseYaml(rel('1.0.0', { sha256: 'c'.repeat(64) })));
    const bad = await run(['sync'], root);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /releases\/1\.0\.0\.yaml:3:\d+: error IMMUTABLE_FIELD_CHANGED/);
    assert.equal((await run(['plan'], root)).code, 1);
  });

  it('refuses unmanaged rows until imported, then adopts them without changing a release', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('2.0.0')] });
    assert.equal((await run(['sync'], root)).code, 0);
    await direct((db) =>
      db.query(
        "INSERT INTO agent_releases (version, download_url, sha256, release_notes) VALUES ('2.0.1', $1, $2, 'hand-made')",
        [`${PREFIX}2.0.1.pkg`, 'd'.repeat(64)],
      ),
    );
    const refused = await run(['sync'], root);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /UNMANAGED_ROW/);
    assert.match(refused.stdout, /mngd-release import/);

    const imported = await run(['import', '--offline'], root);
    assert.equal(imported.code, 1, 'the imported file lacks size: validate-level problem');
    assert.match(imported.stdout, /releases\/2\.0\.1\.yaml/);
    const file = join(root, 'releases', '2.0.1.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^# size: .*$/m, 'size: 4242'));
    const plan = await run(['plan', '--json'], root);
    assert.equal(plan.code, 0, plan.stdout);
    const p = JSON.parse(plan.stdout).plan;
    assert.deepEqual(
      p.updates.map((u: { version: string; adopt: boolean }) => [u.version, u.adopt]),
      [['2.0.1', true]],
    );
    assert.equal((await run(['sync'], root)).code, 0);
    assert.equal(JSON.parse((await run(['sync', '--json'], root)).stdout).wrote, false);
  });

  it('writes the plan into the GitHub job summary', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('3.0.0')] });
    const summary = join(root, 'summary.md');
    await writeFile(summary, '');
    const r = await runBin(['plan'], {
      cwd: root,
      env: { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    assert.equal(r.code, 0, r.stderr);
    const md = await readFile(summary, 'utf8');
    assert.match(md, /### Plan for `agent_releases`/);
    assert.match(md, /\| `3\.0\.0` \|/);
  });

  it('rejects a malformed DATABASE_URL (exit 2) and never prints a password (exit 3)', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('1.0.0')] });
    const wrongScheme = await runRelease(['plan'], { cwd: root, env: { DATABASE_URL: 'mysql://u:hunter2pw@db/x' } });
    assert.equal(wrongScheme.code, 2);
    assert.doesNotMatch(wrongScheme.stderr, /hunter2pw/);
    const down = await runRelease(['plan'], {
      cwd: root,
      env: { DATABASE_URL: 'postgres://deploy:hunter2pw@127.0.0.1:1/mngd?sslmode=disable' },
    });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /postgres:\/\/deploy:\*\*\*@127\.0\.0\.1:1\/mngd/);
    assert.doesNotMatch(down.stderr + down.stdout, /hunter2pw/);
  });

  it('exits 2, not "retry", for settings a retry cannot fix: a server without TLS, a missing database', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('1.0.0')] });
    // A server that answers PostgreSQL's SSLRequest with "N" (no TLS), as one without ssl=on does.
    const noTls = createServer((sock) => sock.once('data', () => sock.end('N')));
    await new Promise<void>((r) => noTls.listen(0, '127.0.0.1', r));
    try {
      const port = (noTls.address() as AddressInfo).port;
      const r = await runRelease(['plan'], {
        cwd: root,
        env: { DATABASE_URL: `postgres://deploy:hunter2pw@127.0.0.1:${port}/mngd?sslmode=require` },
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /the server does not accept TLS; use sslmode=disable only for a server on this machine, otherwise enable TLS on the server \[DB_SETTINGS\]/,
      );
      assert.doesNotMatch(r.stderr + r.stdout, /hunter2pw|re-run|--help/);
    } finally {
      noTls.close();
    }
    const url = process.env['TEST_DATABASE_URL'];
    if (url !== undefined) {
      const missing = new URL(url);
      missing.pathname = '/mngd_no_such_database';
      const r = await runRelease(['plan'], { cwd: root, env: { DATABASE_URL: missing.toString() } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /SQLSTATE 3D000\): that database does not exist on the server; check DATABASE_URL's database name \[DB_SETTINGS\]/,
      );
    }
  });

  it('rejects an unreadable --ca-file for import (exit 2)', async () => {
    const root = await releaseRepo({ prefixes: [PREFIX], releases: [rel('1.0.0')] });
    const r = await run(['import', '--ca-file', 'missing.pem'], root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--ca-file missing\.pem/);
  });
});
