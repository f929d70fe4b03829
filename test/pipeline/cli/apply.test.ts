import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import type { Database } from '../../../pipeline/table/db/database.js';
import { cliDatabase, type CliDatabase } from '../../support/cli-db.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../../support/https-server.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';
import { legacyServed } from '../../support/db.js';
import { testTls } from '../../support/tls.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const HOUR = 3600_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const secs = (d: Date): number => Math.floor(d.getTime() / 1000);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const PKGS: Record<string, Buffer> = {
  '1.0.1': generatedBytes(1, 40_000),
  '1.0.2': generatedBytes(2, 50_000),
  '1.0.3': generatedBytes(3, 60_000),
  '1.0.4': generatedBytes(4, 50_000),
  '1.0.5': generatedBytes(5, 50_000),
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Release Engineer', '-c', 'user.email=re@example.test', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8' },
  );
}

async function rows(db: Database): Promise<Map<string, { active: boolean; yanked: boolean }>> {
  const { rows } = await db.query<{ version: string; active: boolean; yanked: boolean }>(
    'SELECT version::text AS version, active, yanked FROM agent_releases',
  );
  return new Map(rows.map((r) => [r.version, { active: r.active, yanked: r.yanked }]));
}

describe('apply, end to end (git, HTTPS packages, database, s3rver)', () => {
  let srv: TestServer;
  let s3: TestS3;
  let db: CliDatabase;
  let repo: ReleaseRepo;
  let key: TestKey;
  let env: Record<string, string>;
  const apply = (now: Date, ...argv: string[]) => repo.run(['apply', '--ca-file', testTls().caFile, ...argv], env, now);
  const stable = async (now: Date) => {
    const text = await s3.getText('agent/latest.json');
    assert.ok(text !== null, 'no stable manifest');
    return verifyManifest(text, { trustedKeys: [publicKeyFromBase64(key.public_key)], channel: 'stable', now });
  };
  const packageGets = () => srv.requests.filter((r) => r.method === 'GET').length;

  before(async () => {
    srv = await startHttpsServer(
      routes(Object.fromEntries(Object.entries(PKGS).map(([v, b]) => [`/pkg/mngd-agent-${v}.pkg`, servePackage(b)]))),
    );
    s3 = await startS3rver();
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], prefix: `${srv.origin}/pkg/` });
    db = await cliDatabase(`${repo.root}/.state`);
    env = { ...s3.env, ...db.env, MNGD_SIGNING_KEY: key.private, MNGD_PUBLISH_TARGET: s3.target('agent') };
    const release = (v: string, extra: { min_required_version?: string } = {}) =>
      repo.writeRelease({ version: v, sha256: sha(PKGS[v] as Buffer), size: (PKGS[v] as Buffer).length, ...extra });
    git(repo.root, 'init', '-q', '-b', 'main');
    await release('1.0.1');
    await release('1.0.2', { min_required_version: '1.0.1' });
    git(repo.root, 'add', 'releases');
    git(repo.root, 'commit', '-q', '-m', 'policy, 1.0.1 and 1.0.2');
    await release('1.0.3');
    git(repo.root, 'add', 'releases');
    git(repo.root, 'commit', '-q', '-m', 'release 1.0.3');
  });
  after(async () => {
    await db.close();
    await s3.close();
    await srv.close();
    await repo.close();
  });

  it('verifies the packages, syncs the table and publishes the manifests', async () => {
    const run = await apply(T0);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ verify-artifacts: 1 package\(s\): 1 downloaded and verified/);
    assert.match(run.stdout, /✓ sync: .*3 to insert/);
    assert.match(run.stdout, /✓ publish: 4 of 4 manifest\(s\) written/);
    assert.match(run.stdout, /Applied/);
    const t = await db.use(rows);
    assert.deepEqual([...t.keys()].sort(), ['1.0.1', '1.0.2', '1.0.3']);
    assert.equal(await db.use(legacyServed), '1.0.3');
    const v = await stable(T0);
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.3'],
    );
    assert.equal((await s3.head('agent/latest.json'))?.CacheControl, 'public, max-age=60');
  });

  it('converges: a second apply downloads no package and writes nothing', async () => {
    const before = (await s3.getText('agent/latest.json')) ?? '';
    const gets = packageGets();
    const run = await apply(at(HOUR));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /1 unchanged since verified/);
    assert.match(run.stdout, /✓ sync: nothing to change/);
    assert.match(run.stdout, /✓ publish: 0 of 4 manifest\(s\) written/);
    assert.equal(await s3.getText('agent/latest.json'), before);
    // only conditional requests answered 304, no package body again
    assert.ok(
      srv.requests
        .slice(gets)
        .every((r) => r.headers['if-none-match'] !== undefined || r.headers['if-modified-since'] !== undefined),
    );
  });

  it('yanks on a git revert: the table, the manifest and the plan all show it', async () => {
    const old = await stable(at(HOUR));
    git(repo.root, 'revert', '--no-edit', 'HEAD');
    const plan = await repo.run(['plan'], env, at(2 * HOUR));
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /1\.0\.3/);
    assert.match(plan.stdout, /its file was removed/);
    assert.match(plan.stdout, /NEWEST_YANKED/);
    // and the plan's manifest section: what publish will change in the live latest.json
    assert.match(
      plan.stdout,
      /stable \(latest\.json\): publish will write it \(the releases changed\); offers 1\.0\.2/,
    );
    assert.match(plan.stdout, /1\.0\.3: published, but git does not offer it/);

    const now = at(2 * HOUR);
    const run = await apply(now);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /1 to yank/);
    const t = await db.use(rows);
    assert.deepEqual(t.get('1.0.3'), { active: false, yanked: true }, 'the row stays, yanked');
    assert.equal(await db.use(legacyServed), '1.0.2');
    const v = await stable(now);
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.2'],
    );
    assert.ok(v.signed.sequence > old.signed.sequence);
    assert.equal(v.signed.sequence, secs(now));
    assert.ok((await s3.getText(`agent/history/stable/${secs(now)}.json`)) !== null);

    const after = await repo.run(['plan'], env, at(3 * HOUR));
    assert.equal(after.code, 0);
    assert.match(after.stdout, /no change/);
    assert.match(after.stdout, /stable \(latest\.json\): unchanged/);
    const drift = await repo.run(['drift'], env, at(3 * HOUR));
    assert.equal(drift.code, 0, drift.stdout);
  });

  it('stops at the first failing step and says what was and was not done', async () => {
    // a package that does not match its file: verify fails, the table and manifests are untouched
    await repo.writeRelease({ version: '1.0.4', sha256: 'b'.repeat(64), size: 50_000 });
    const before = await s3.getText('agent/latest.json');
    const run = await apply(at(4 * HOUR));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✗ verify-artifacts: .*DO NOT MATCH/);
    assert.match(run.stdout, /- sync: not started/);
    assert.match(run.stdout, /- publish: not started/);
    assert.match(run.stderr, /Stopped at verify-artifacts\. Done: nothing\. Not done: verify-artifacts, sync, publish/);
    assert.equal((await db.use(rows)).has('1.0.4'), false);
    assert.equal(await s3.getText('agent/latest.json'), before);
    await repo.removeRelease('1.0.4');
  });

  it('leaves a synced table and exits 3 when S3 is down, and the next apply finishes the job', async () => {
    await repo.writeRelease({
      version: '1.0.3',
      active: true,
      sha256: sha(PKGS['1.0.3'] as Buffer),
      size: (PKGS['1.0.3'] as Buffer).length,
    });
    const before = await s3.getText('agent/latest.json');
    await s3.stop();
    let run;
    try {
      run = await apply(at(5 * HOUR));
    } finally {
      await s3.start();
    }
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ sync: /);
    assert.match(run.stdout, /✗ publish: .*\[STORE_UNAVAILABLE\]/);
    assert.match(
      run.stderr,
      /Done: verify-artifacts, sync\. Not done: publish\. An outside system failed: re-run apply/,
    );
    assert.deepEqual((await db.use(rows)).get('1.0.3'), { active: true, yanked: false });
    assert.equal(await s3.getText('agent/latest.json'), before);

    const again = await apply(at(6 * HOUR));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ sync: nothing to change/);
    assert.match(again.stdout, /✓ publish: 4 of 4 manifest\(s\)/);
    assert.deepEqual(
      (await stable(at(6 * HOUR))).signed.releases.map((r) => r.version),
      ['1.0.3'],
    );
  });

  it('refuses a missing signing key before verifying, syncing or publishing anything', async () => {
    await repo.writeRelease({
      version: '1.0.5',
      sha256: sha(PKGS['1.0.5'] as Buffer),
      size: (PKGS['1.0.5'] as Buffer).length,
    });
    const gets = srv.requests.length;
    const run = await repo.run(
      ['apply', '--ca-file', testTls().caFile],
      { ...env, MNGD_SIGNING_KEY: '' },
      at(7 * HOUR),
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /MNGD_SIGNING_KEY/);
    assert.equal(srv.requests.length, gets, 'no package was fetched');
    assert.equal((await db.use(rows)).has('1.0.5'), false);
    await repo.removeRelease('1.0.5');
  });
});

describe('apply: slow steps before publish do not spend the store deadline', () => {
  it('publishes after a verify-artifacts longer than MNGD_S3_DEADLINE_MS (the manifests were read before it)', async () => {
    const bytes = generatedBytes(9, 30_000);
    // The package server answers after 1.5 s: verify-artifacts outlasts the store's 1 s deadline.
    const slow = servePackage(bytes);
    const srv = await startHttpsServer(
      routes({ '/pkg/mngd-agent-1.0.9.pkg': (req, res, s) => void setTimeout(() => slow(req, res, s), 1500) }),
    );
    const s3 = await startS3rver();
    const key = testKey();
    const repo = await makeReleaseRepo({ trusted: [key], prefix: `${srv.origin}/pkg/` });
    const db = await cliDatabase(`${repo.root}/.state`);
    try {
      await repo.writeRelease({ version: '1.0.9', sha256: sha(bytes), size: bytes.length });
      const env = {
        ...s3.env,
        ...db.env,
        MNGD_SIGNING_KEY: key.private,
        MNGD_PUBLISH_TARGET: s3.target('agent'),
        MNGD_S3_DEADLINE_MS: '1000',
      };
      const run = await repo.run(['apply', '--ca-file', testTls().caFile], env, T0);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /✓ publish: 4 of 4 manifest\(s\) written/);
      assert.ok((await s3.getText('agent/latest.json')) !== null);
    } finally {
      await db.close();
      await repo.close();
      await s3.close();
      await srv.close();
    }
  });
});
