import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signingKeysFromText } from '../../../schema/keys.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { publishManifests } from '../../../pipeline/manifests/publish.js';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import { manifestDrift, type DriftFinding } from '../../../pipeline/drift/check.js';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import { cliDatabase, type CliDatabase } from '../../support/cli-db.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const at = (ms: number): Date => new Date(T0.getTime() + ms);

describe('drift', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let db: CliDatabase;
  let env: Record<string, string>;
  let bucket: string;
  const drift = async (argv: string[] = [], now = at(HOUR)) => repo.run(['drift', ...argv], env, now);
  const json = async (argv: string[] = [], now = at(HOUR)) => {
    const run = await drift(['--json', ...argv], now);
    return {
      code: run.code,
      out: JSON.parse(run.stdout) as { drift: boolean; findings: DriftFinding[] },
      stderr: run.stderr,
    };
  };
  const codes = (fs: readonly DriftFinding[]) => fs.map((f) => f.code).sort();

  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key] });
    await repo.writeRelease({ version: '1.0.1' });
    await repo.writeRelease({ version: '1.0.2', min_required_version: '1.0.1' });
    await repo.writeRelease({ version: '1.0.3', rollout_percent: 10 });
    const state = join(repo.root, '.state');
    bucket = join(state, 'bucket');
    db = await cliDatabase(state);
    env = { ...db.env, MNGD_SIGNING_KEY: key.private };
    const sync = await repo.run(['sync'], env, T0);
    assert.equal(sync.code, 0, sync.stderr + sync.stdout);
    const pub = await repo.run(['publish'], env, T0);
    assert.equal(pub.code, 0, pub.stderr);
  });
  after(async () => {
    await db.close();
    await repo.close();
  });

  it('finds nothing when the table and the manifests match git', async () => {
    const run = await drift();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // Not only failures: what was checked and matched, each row and manifest with what it says.
    const [table, ...rest] = run.stdout.split('\n');
    assert.match(table!, /^✓ table \(\S+\): 3 row\(s\) match their release files: 1\.0\.3, 1\.0\.2, 1\.0\.1$/);
    const same =
      'sequence 1795744800 matches git: offers 1.0.3 (10%), 1.0.2; floor 1.0.1; expires 2026-12-11T02:00:00Z';
    assert.deepEqual(rest, [
      `✓ manifest stable (latest.json): ${same}`,
      `✓ manifest stable (v2/latest.json): ${same}`,
      `✓ manifest beta (channels/beta/latest.json): ${same}`,
      `✓ manifest beta (v2/channels/beta/latest.json): ${same}`,
      'No drift: the table and the published manifests match git.',
      '',
    ]);
  });

  it('catches a row changed by raw SQL, showing git against the table', async () => {
    await db.use((d) =>
      d.query("UPDATE agent_releases SET rollout_percent = 50, release_notes = 'edited' WHERE version = '1.0.3'"),
    );
    const run = await drift();
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /table 1\.0\.3 \(releases\/1\.0\.3\.yaml\): the row differs from its release file/);
    assert.match(run.stdout, /rollout_percent: git says 10, the table says 50/);
    assert.match(run.stdout, /release_notes: git says none, the table says "edited"/);
    assert.match(run.stdout, /mngd-release sync/);
    const { out } = await json(['--only', 'table']);
    assert.deepEqual(codes(out.findings), ['TABLE_ROW_DIFFERS']);
    // sync repairs it, and drift agrees
    assert.equal((await repo.run(['sync'], env, at(HOUR))).code, 0);
    assert.equal((await drift()).code, 0);
  });

  it('catches a row deleted by raw SQL', async () => {
    await db.use((d) => d.query("DELETE FROM agent_releases WHERE version = '1.0.1'"));
    const { code, out } = await json(['--only', 'table']);
    assert.equal(code, 1);
    assert.deepEqual(codes(out.findings), ['TABLE_ROW_MISSING']);
    assert.equal((await repo.run(['sync'], env, at(HOUR))).code, 0);
  });

  // A package re-pointed by raw SQL: sync refuses to touch the row (download_url never changes),
  // so "run sync" would be a fix that fails every day: drift prints the UPDATE that restores it.
  it('prints the UPDATE that restores a row whose download_url was changed by raw SQL, and that UPDATE works', async () => {
    const set = await loadReleaseSet(repo.root);
    const url = set.releases.find((r) => r.release.version === '1.0.2')?.release.download_url;
    await db.use((d) =>
      d.query("UPDATE agent_releases SET download_url = 'https://evil.example/x.pkg' WHERE version = '1.0.2'"),
    );
    const run = await drift(['--only', 'table']);
    assert.equal(run.code, 1);
    const restore = `UPDATE agent_releases SET download_url = '${url}' WHERE version = '1.0.2';`;
    assert.equal(
      run.stdout.replace(/^✓ table \(\S+\)/, '✓ table (DB)'),
      [
        '✓ table (DB): 2 row(s) match their release files: 1.0.3, 1.0.1',
        `✗ table 1.0.2 (releases/1.0.2.yaml): download_url differs from git, and sync never rewrites download_url, sha256 or size (it refuses). If the table was edited by hand, restore the row from git: ${restore}`,
        `    download_url: git says "${url}", the table says "https://evil.example/x.pkg"`,
        'Drift: 1 difference(s) from git. Fix: run the UPDATE printed above to restore each row from git (sync never rewrites download_url, sha256 or size); then "mngd-release sync" (or apply) makes the table match git.',
        '',
      ].join('\n'),
    );
    const { out } = await json(['--only', 'table']);
    assert.deepEqual(codes(out.findings), ['TABLE_IMMUTABLE_CHANGED']);
    assert.equal((await repo.run(['sync'], env, at(HOUR))).code, 1, 'sync refuses the row as it is');
    await db.use((d) => d.exec(restore));
    assert.equal((await drift(['--only', 'table'])).code, 0);
    assert.equal((await repo.run(['sync'], env, at(HOUR))).code, 0);
  });

  it('reads an uppercase sha256 in the table as the same hash, and sync writes it lowercase', async () => {
    await db.use((d) => d.query("UPDATE agent_releases SET sha256 = upper(sha256) WHERE version = '1.0.2'"));
    const { code, out } = await json(['--only', 'table']);
    assert.equal(code, 1);
    assert.deepEqual(codes(out.findings), ['TABLE_ROW_DIFFERS']);
    assert.equal((await repo.run(['sync'], env, at(HOUR))).code, 0);
    assert.equal((await drift(['--only', 'table'])).code, 0);
    const { rows } = await db.use((d) =>
      d.query<{ sha256: string }>("SELECT sha256 FROM agent_releases WHERE version = '1.0.2'"),
    );
    assert.match(rows[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('catches a manifest object changed by hand (its signature no longer verifies)', async () => {
    const file = join(bucket, 'latest.json');
    const original = await readFile(file);
    const m = JSON.parse(original.toString()) as { signed: { releases: { rollout_percent: number }[] } };
    const first = m.signed.releases[0];
    assert.ok(first);
    first.rollout_percent = 100;
    await writeFile(file, JSON.stringify(m, null, 2));
    const run = await drift(['--only', 'manifests']);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /manifest stable \(latest\.json\): the published object has no valid signature from a key the policy trusts/,
    );
    // --only table does not look at the manifests, and says so rather than "no drift" in them.
    const tableOnly = await drift(['--only', 'table']);
    assert.equal(tableOnly.code, 0);
    assert.match(tableOnly.stdout, /No drift: the table matches git \(the manifests were not checked\)\./);
    await writeFile(file, original);
    const fixed = await drift(['--only', 'manifests']);
    assert.equal(fixed.code, 0);
    assert.match(fixed.stdout, /No drift: the published manifests match git \(the table was not checked\)\./);
  });

  it('catches a validly signed manifest that says something other than git, release by release', async () => {
    const set = await loadReleaseSet(repo.root);
    assert.ok(set.policy);
    const stale = set.releases.map((r) => r.release).filter((r) => r.version !== '1.0.3');
    const store = new DirectoryStore(bucket);
    // e.g. a publish run from an old checkout
    await publishManifests({
      releases: stale.map((r) => (r.version === '1.0.2' ? { ...r, rollout_percent: 40 } : r)),
      policy: set.policy,
      keys: signingKeysFromText(key.private),
      store,
      now: at(2 * HOUR),
    });
    const run = await drift(['--only', 'manifests'], at(2 * HOUR));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /1\.0\.3: git offers it \(rollout 10%\), the published manifest does not/);
    assert.match(run.stdout, /1\.0\.2 rollout_percent: git says 100, published says 40/);
    // 1.0.1 is not withdrawn: git's list ends at 1.0.2, now at 100 %, and lists nothing older.
    assert.ok(run.stdout.includes('\n    1.0.1: dropped from the list: 1.0.2 is now at 100 %\n'), run.stdout);
    assert.doesNotMatch(run.stdout, /1\.0\.1: published, but git does not offer it/);
    assert.match(run.stdout, /mngd-release publish/);
    assert.equal((await repo.run(['publish'], env, at(3 * HOUR))).code, 0);
    assert.equal((await drift(['--only', 'manifests'], at(3 * HOUR))).code, 0);
  });

  it('warns within the refresh window and fails past expiry', async () => {
    // published at T0+3h, lifetime 14 days, window 7 days
    let r = await json(['--only', 'manifests'], at(3 * HOUR + 8 * DAY));
    assert.equal(r.code, 0);
    // spec 1 and spec 2 of each channel
    assert.deepEqual(codes(r.out.findings), Array(4).fill('MANIFEST_EXPIRING'));
    assert.equal(r.out.findings[0]?.severity, 'warning');
    r = await json(['--only', 'manifests'], at(3 * HOUR + 15 * DAY));
    assert.equal(r.code, 1);
    assert.deepEqual(codes(r.out.findings), Array(4).fill('MANIFEST_EXPIRED'));
  });

  it('sees a revert that was not applied yet in both the table and the manifest', async () => {
    await repo.removeRelease('1.0.3');
    const { code, out } = await json([], at(4 * HOUR));
    assert.equal(code, 1);
    assert.deepEqual(codes(out.findings), [...Array(4).fill('MANIFEST_DIFFERS'), 'TABLE_ROW_NOT_YANKED']);
    assert.deepEqual(
      out.findings.filter((f) => f.code === 'MANIFEST_DIFFERS').map((f) => f.subject),
      [
        'manifest stable (latest.json)',
        'manifest stable (v2/latest.json)',
        'manifest beta (channels/beta/latest.json)',
        'manifest beta (v2/channels/beta/latest.json)',
      ],
    );
    const yank = out.findings.find((f) => f.code === 'TABLE_ROW_NOT_YANKED');
    assert.match(yank?.message ?? '', /file is gone/);
    await repo.writeRelease({ version: '1.0.3', rollout_percent: 10 });
  });

  it('reports a channel with nothing published', async () => {
    await rm(join(bucket, 'channels'), { recursive: true });
    const { code, out } = await json(['--only', 'manifests'], at(4 * HOUR));
    assert.equal(code, 1);
    assert.deepEqual(codes(out.findings), ['MANIFEST_MISSING']);
  });

  it('refuses an unknown --only with exit 2', async () => {
    assert.equal((await drift(['--only', 'cdn'])).code, 2);
  });
});

describe('manifestDrift', () => {
  it('warns about headers other than publish writes and a latest.json behind its history', () => {
    const policy = {
      manifest: { lifetime_days: 14, refresh_window_days: 7, cache_control: 'public, max-age=60', max_releases: 20 },
    };
    const signed = buildSignedManifest({ channel: 'stable', releases: [], policy, now: T0, previousSequence: null });
    const findings = manifestDrift(
      {
        channel: 'stable',
        key: 'latest.json',
        object: { body: Buffer.alloc(0), etag: 'x', contentType: 'text/plain', cacheControl: 'no-store' },
        manifest: { signed, signatures: [] },
        problem: null,
        latestSequence: signed.sequence,
        historySequence: signed.sequence + 5,
      },
      signed,
      policy,
      at(HOUR),
    );
    assert.deepEqual(
      findings.map((f) => [f.code, f.severity]),
      [
        ['MANIFEST_HEADERS', 'warning'],
        ['MANIFEST_BEHIND_HISTORY', 'warning'],
      ],
    );
    assert.match(
      findings[0]?.details.join('\n') ?? '',
      /Cache-Control: the policy says "public, max-age=60", the store says "no-store"/,
    );
  });
});
