/**
 * Safety changes always publish: through the real mngd-release bin, a yank goes out while another
 * listed package 404s, while PostgreSQL is unreachable and while the embedded PGlite is held by
 * another process; a change that offers more still stops at the first failure.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { REPO_ROOT, runBin } from '../../support/cli.js';
import { preparePgliteDir } from '../../support/db.js';
import {
  generatedBytes,
  routes,
  servePackage,
  startHttpsServer,
  type Handler,
  type TestServer,
} from '../../support/https-server.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';
import { testTls } from '../../support/tls.js';

const PKGS: Record<string, Buffer> = {
  '1.0.3': generatedBytes(3, 30_000),
  '1.0.4': generatedBytes(4, 30_000),
  '1.0.5': generatedBytes(5, 30_000),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const pkgPath = (v: string) => `/pkg/mngd-agent-${v}.pkg`;

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

interface Fixture {
  repo: ReleaseRepo;
  key: TestKey;
  bucket: string;
  env: Record<string, string>;
  apply(env?: Record<string, string>): ReturnType<typeof runBin>;
  bin(argv: string[], env?: Record<string, string>): ReturnType<typeof runBin>;
  /** versions the stable manifest lists, verified as an agent would */
  offered(): Promise<string[]>;
  release(v: string, extra?: { active?: boolean; rollout_percent?: number }): Promise<string>;
}

describe('safety changes always publish (mngd-release bin)', () => {
  let srv: TestServer;
  const table: Record<string, Handler> = {};
  const serveAll = () => {
    for (const [v, b] of Object.entries(PKGS)) table[pkgPath(v)] = servePackage(b);
  };
  const fixtures: ReleaseRepo[] = [];

  before(async () => {
    serveAll();
    srv = await startHttpsServer(routes(table));
  });
  after(async () => {
    await srv.close();
    for (const r of fixtures) await r.close();
  });

  /** stable: 1.0.3 at 100 %, the bad 1.0.4 at 20 %, applied once with everything up. */
  async function fixture(): Promise<Fixture> {
    serveAll();
    const key = testKey();
    const repo = await makeReleaseRepo({ trusted: [key], prefix: `${srv.origin}/pkg/`, channels: ['stable'] });
    fixtures.push(repo);
    const bucket = join(repo.root, 'bucket');
    await preparePgliteDir(join(repo.root, '.state', 'pglite'));
    const env = {
      MNGD_STATE_DIR: join(repo.root, '.state'),
      MNGD_SIGNING_KEY: key.private,
      MNGD_PUBLISH_TARGET: bucket,
    };
    const f: Fixture = {
      repo,
      key,
      bucket,
      env,
      bin: (argv, extra = {}) => runBin(argv, { cwd: repo.root, env: { ...env, ...extra } }),
      apply: (extra = {}) => f.bin(['apply', '--ca-file', testTls().caFile], extra),
      async offered() {
        const text = await readFile(join(bucket, 'latest.json'), 'utf8');
        const v = verifyManifest(text, {
          trustedKeys: [publicKeyFromBase64(key.public_key)],
          channel: 'stable',
          now: new Date(),
        });
        return v.signed.releases.map((r) => `${r.version}@${r.rollout_percent}`);
      },
      release: (v, extra = {}) =>
        repo.writeRelease({ version: v, sha256: sha(PKGS[v] as Buffer), size: (PKGS[v] as Buffer).length, ...extra }),
    };
    await f.release('1.0.3');
    await f.release('1.0.4', { rollout_percent: 20 });
    const first = await f.apply();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100']);
    return f;
  }

  it('publishes a yank while the yanked package is pulled and another listed package 404s', async () => {
    const f = await fixture();
    delete table[pkgPath('1.0.4')]; // the bad package pulled from the CDN
    delete table[pkgPath('1.0.3')]; // and, unrelated, another listed package 404s
    await f.release('1.0.4', { rollout_percent: 20, active: false });
    const run = await f.apply();
    // a 404 on a listed package is the releases' to fix (exit 1): the job is still red
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(await f.offered(), ['1.0.3@100'], 'the yank reached the manifest');
    assert.match(run.stdout, /Safety change: every changed channel only offers less/);
    assert.match(run.stdout, /stable offers less: 1\.0\.4 removed \(was offered to 20%\)/);
    assert.match(run.stdout, /✓ publish: 1 of 1 manifest\(s\) written/);
    assert.match(run.stdout, /✗ verify-artifacts: .*\n.*1\.0\.3\.yaml.*ARTIFACT_NOT_FOUND/);
    assert.match(run.stdout, /✓ sync: .*1 to yank/);
    assert.match(
      run.stderr,
      /Safety change published: the manifests offer less, as git says\. Skipped: verify-artifacts failed/,
    );
    assert.ok(run.stdout.indexOf('publish:') < run.stdout.indexOf('verify-artifacts:'), 'publish runs first');
    assert.deepEqual(await f.offered(), ['1.0.3@100']);
  });

  it('publishes a yank while PostgreSQL is unreachable; plan and drift say the table is behind; the next apply catches it up', async () => {
    const f = await fixture();
    await f.release('1.0.4', { rollout_percent: 20, active: false });
    const down = { DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/x` };
    const run = await f.apply(down);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ publish: 1 of 1/);
    assert.match(run.stdout, /✓ verify-artifacts/);
    assert.match(run.stdout, /✗ sync: .*\[DB_UNAVAILABLE\]/);
    assert.match(
      run.stderr,
      /Skipped: sync failed \(agent_releases was not updated.*\)\. The next apply catches the table up/,
    );
    assert.deepEqual(await f.offered(), ['1.0.3@100']);

    // the table (PGlite, back) still has 1.0.4 active: plan and drift name it
    const plan = await f.bin(['plan']);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(
      plan.stdout,
      /the table is behind: the published manifests already carry yank 1\.0\.4; .*the next apply catches it up/,
    );
    const drift = await f.bin(['drift']);
    assert.equal(drift.code, 1);
    assert.match(drift.stdout, /! table: the table is behind: .* to 1\.0\.4, .*the next apply catches it up/);

    const again = await f.apply();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ sync: .*1 to yank/);
    assert.match(again.stdout, /✓ publish: 0 of 1/);
    const clean = await f.bin(['drift']);
    assert.equal(clean.code, 0, clean.stdout);
    assert.doesNotMatch(clean.stdout, /behind/);
  });

  it('publishes a yank while another process holds the embedded PGlite', async () => {
    const f = await fixture();
    await f.release('1.0.4', { rollout_percent: 20, active: false });
    const holder: ChildProcess = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { openPglite } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/pipeline/table/db/pglite.js'))});
         const db = await openPglite(process.argv[1]);
         process.stdout.write('held\\n');
         process.stdin.resume();
         process.stdin.on('end', async () => { await db.close(); process.exit(0); });`,
        join(f.repo.root, '.state', 'pglite'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
      assert.equal(line.toString().trim(), 'held');
      const run = await f.apply();
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(run.stdout, /✓ publish: 1 of 1/);
      assert.match(run.stdout, /✗ sync: the embedded database in .* is in use by process \d+/);
      assert.deepEqual(await f.offered(), ['1.0.3@100']);
    } finally {
      holder.stdin!.end();
      await once(holder, 'exit');
    }
    const again = await f.apply();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ sync: .*1 to yank/);
  });

  it('a change that offers more still stops at the first failure', async () => {
    const f = await fixture();
    delete table[pkgPath('1.0.3')];
    await f.release('1.0.5', { rollout_percent: 10 });
    const more = await f.apply();
    assert.equal(more.code, 1, more.stdout + more.stderr);
    assert.doesNotMatch(more.stdout, /Safety change/);
    assert.match(more.stdout, /✗ verify-artifacts/);
    assert.match(more.stdout, /- sync: not started/);
    assert.match(more.stdout, /- publish: not started/);
    assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100']);

    // a yank together with a new release is mixed: no shortcut either
    await f.release('1.0.4', { rollout_percent: 20, active: false });
    const mixed = await f.apply();
    assert.equal(mixed.code, 1, mixed.stdout + mixed.stderr);
    assert.match(mixed.stdout, /- publish: not started/);
    assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100']);
  });
});
