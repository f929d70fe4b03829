/**
 * release-pr.yml with the optional DATABASE_URL_READONLY secret (docs/github-setup.md): the plan
 * is made against the production table through a role that may only SELECT, and nothing is
 * seeded or written. Needs a PostgreSQL server (TEST_DATABASE_URL, or one on 127.0.0.1:5432):
 * a read-only role is a PostgreSQL thing that the embedded PGlite cannot stand in for.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { generateSigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { localPostgresUrl, openTestPostgres, rowVersions, type TestDatabase } from '../support/db.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import type { JobStep } from './run-step.js';
import { CLI } from './run-step.js';
import { policyYaml, releaseRepo, releaseYaml, type ReleaseRepo } from './release-repo.js';
import { assertCalledCorrectly, describeResult, ranCommand, runPullRequest } from './pull-request.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const server = await localPostgresUrl();
if (server === null && process.env['CI'] === 'true')
  throw new Error('CI=true but no PostgreSQL: set TEST_DATABASE_URL');

if (server !== null) {
  describe('release-pr.yml with a read-only database for the plan', () => {
    let srv: TestServer;
    let db: TestDatabase;
    let repo: ReleaseRepo;
    let steps: JobStep[];
    let before_: Map<string, string>;
    const role = `mngd_ro_${randomBytes(5).toString('hex')}`;
    const pkg100 = generatedBytes(1, 4096);
    const pkg110 = generatedBytes(2, 9000);

    async function admin(sql: string): Promise<void> {
      const c = new pg.Client({ connectionString: server as string });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    }

    before(async () => {
      srv = await startHttpsServer(
        routes({ '/agent/1.0.0.pkg': servePackage(pkg100), '/agent/1.1.0.pkg': servePackage(pkg110) }),
      );
      db = await openTestPostgres(server as string);
      repo = releaseRepo();
      repo.write('releases/policy.yaml', policyYaml({ prefix: srv.url('/agent/'), keys: [generateSigningKey()] }));
      repo.write(
        'releases/1.0.0.yaml',
        releaseYaml({
          version: '1.0.0',
          url: srv.url('/agent/1.0.0.pkg'),
          sha256: sha256(pkg100),
          size: pkg100.length,
        }),
      );
      const base = repo.commit('Release 1.0.0');
      // Production as release-publish left it after main's last merge.
      execFileSync(process.execPath, [CLI, 'sync'], {
        cwd: repo.dir,
        env: { ...process.env, DATABASE_URL: db.url, GITHUB_ACTIONS: '' },
        stdio: 'pipe',
      });
      const dbName = new URL(db.url as string).pathname.slice(1);
      await admin(`CREATE ROLE ${role} LOGIN`);
      await db.db.exec(
        `GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON agent_releases, agent_release_artifacts, mngd_schema_migrations TO ${role};`,
      );
      await admin(`GRANT CONNECT ON DATABASE ${dbName} TO ${role}`);
      const readonly = new URL(db.url as string);
      readonly.username = role;
      readonly.password = '';
      before_ = await rowVersions(db.db);
      steps = await runPullRequest(
        repo,
        base,
        () =>
          repo.write(
            'releases/1.1.0.yaml',
            releaseYaml({
              version: '1.1.0',
              url: srv.url('/agent/1.1.0.pkg'),
              sha256: sha256(pkg110),
              size: pkg110.length,
            }),
          ),
        46,
        { env: { NODE_EXTRA_CA_CERTS: testTls().caFile }, secrets: { DATABASE_URL_READONLY: readonly.toString() } },
      );
    });
    after(async () => {
      await srv.close();
      await db.close();
      await admin(`DROP ROLE IF EXISTS ${role}`);
    });

    it('plans against the table through the read-only role, seeding nothing', () => {
      assertCalledCorrectly(steps);
      const r = ranCommand(steps, 'plan');
      assert.equal(r.code, 0, describeResult(r));
      assert.match(r.stdout, new RegExp(`Plan for agent_releases \\(postgres[^)]*${role}`));
      assert.match(r.stdout, /1 to insert, 0 to update, 0 to yank, 1 unchanged/);
      assert.doesNotMatch(r.summary, /base commit/);
      assert.ok(!existsSync(join(repo.dir, '.state', 'pglite')), 'no embedded table was made');
    });

    it('writes nothing to the table', async () => {
      assert.deepEqual(await rowVersions(db.db), before_);
    });
  });
}
