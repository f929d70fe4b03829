/**
 * Issue #22 item 8: a publisher whose clock is behind the last publish refuses (CLOCK_BEHIND,
 * exit 3, nothing written), and each spec's sequence stays strictly above every sequence it ever
 * published even with latest.json and history/ both gone (the sequence floor). The clock is the
 * pipeline's injected one; the stores are real (a directory, s3rver on loopback).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { verifyManifest2 } from '../../../schema/manifest2.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const DAY = 86_400_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const secs = (d: Date): number => Math.floor(d.getTime() / 1000);

/** Every file under a folder and its bytes: what "nothing was written" compares. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(relative(dir, p), (await readFile(p)).toString('base64'));
  }
  return out;
}

describe('publish with a clock behind the last publish (directory target)', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let bucket: string;
  const env = () => ({ MNGD_SIGNING_KEY: key.private });
  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    await repo.writeRelease({ version: '1.0.0' });
    bucket = join(repo.root, '.state', 'bucket');
    const first = await repo.run(['publish'], env(), T0);
    assert.equal(first.code, 0, first.stderr);
    await repo.writeRelease({ version: '1.0.1' });
  });
  after(() => repo.close());

  it('refuses a clock a year behind: exit 3, CLOCK_BEHIND naming both times and the fix, nothing written', async () => {
    const before = await snapshot(bucket);
    const behind = at(-365 * DAY);
    const run = await repo.run(['publish'], env(), behind);
    assert.equal(run.code, 3, run.stdout);
    assert.match(run.stderr, /\[CLOCK_BEHIND\]/);
    assert.match(run.stderr, /clock says 2025-11-27T02:00:00Z, 365 days before the stable manifest was last published/);
    assert.match(run.stderr, /published_at 2026-11-27T02:00:00Z, read from latest\.json/);
    assert.match(run.stderr, /set this machine's clock right/);
    assert.doesNotMatch(
      run.stderr,
      /re-run the job once the system is back/,
      'a re-run on this clock fails the same way',
    );
    assert.deepEqual(await snapshot(bucket), before);
    // --dry-run says the same: it cannot judge expiry with this clock either
    assert.equal((await repo.run(['publish', '--dry-run'], env(), behind)).code, 3);
  });

  it('judges spec 2 by the same rule: with spec 1 lost, v2/latest.json alone refuses the clock', async () => {
    const keep = join(repo.root, 'keep');
    await cp(bucket, keep, { recursive: true });
    try {
      await rm(join(bucket, 'latest.json'));
      await rm(join(bucket, 'sequence-floor', 'stable.json'));
      const before = await snapshot(bucket);
      const run = await repo.run(['publish'], env(), at(-2 * 3600_000));
      assert.equal(run.code, 3, run.stderr);
      assert.match(
        run.stderr,
        /2 h 0 min before the stable spec-2 manifest was last published \(published_at 2026-11-27T02:00:00Z, read from v2\/latest\.json\)/,
      );
      assert.match(run.stderr, /\[CLOCK_BEHIND\]/);
      assert.deepEqual(await snapshot(bucket), before);
    } finally {
      await rm(bucket, { recursive: true, force: true });
      await cp(keep, bucket, { recursive: true });
    }
  });

  it('allows a clock behind by up to MNGD_CLOCK_SKEW_SECONDS (default 300 s), and refuses a skew that is not whole seconds (exit 2)', async () => {
    const behind = at(-60_000);
    const strict = await repo.run(['publish'], { ...env(), MNGD_CLOCK_SKEW_SECONDS: '0' }, behind);
    assert.equal(strict.code, 3, strict.stdout);
    assert.match(strict.stderr, /1 min 0 s before .*at most 0 s behind is allowed \(MNGD_CLOCK_SKEW_SECONDS\)/);
    const bad = await repo.run(['publish'], { ...env(), MNGD_CLOCK_SKEW_SECONDS: '5m' }, behind);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MNGD_CLOCK_SKEW_SECONDS=5m is not a skew: write whole seconds/);
    const run = await repo.run(['publish'], env(), behind);
    assert.equal(run.code, 0, run.stderr);
    const trusted = [publicKeyFromBase64(key.public_key)];
    const v = verifyManifest(await readFile(join(bucket, 'latest.json')), {
      trustedKeys: trusted,
      channel: 'stable',
      now: behind,
    });
    assert.equal(v.signed.sequence, secs(T0) + 1, 'the clock behind never takes the sequence back');
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.1'],
    );
  });
});

/** A target that can lose objects: the directory store and s3rver, with the same test. */
interface Lossy {
  env: Record<string, string>;
  keys(prefix: string): Promise<string[]>;
  read(key: string): Promise<string | null>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

async function directoryTarget(root: string): Promise<Lossy> {
  const dir = join(root, 'bucket');
  return {
    env: { MNGD_PUBLISH_TARGET: dir },
    keys: async (prefix) =>
      [...(await snapshot(dir).catch(() => new Map())).keys()].filter((k) => k.startsWith(prefix)),
    read: (k) => readFile(join(dir, k), 'utf8').catch(() => null),
    remove: (k) => rm(join(dir, k)),
    close: async () => undefined,
  };
}

async function s3Target(s3: TestS3): Promise<Lossy> {
  return {
    env: { ...s3.env, MNGD_PUBLISH_TARGET: s3.target() },
    keys: async (prefix) => {
      const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key ?? '');
    },
    read: (k) => s3.getText(k),
    remove: async (k) => void (await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: k }))),
    close: () => s3.close(),
  };
}

for (const kind of ['directory', 's3rver'] as const) {
  describe(`the sequence floor: latest.json and history/ both gone (${kind})`, () => {
    let repo: ReleaseRepo;
    let key: TestKey;
    let target: Lossy;
    let env: Record<string, string>;
    const trusted = () => [publicKeyFromBase64(key.public_key)];
    const sequences = async () => {
      const one = verifyManifest((await target.read('latest.json')) ?? '', {
        trustedKeys: trusted(),
        channel: 'stable',
        now: T0,
      });
      const two = verifyManifest2((await target.read('v2/latest.json')) ?? '', {
        trustedKeys: trusted(),
        channel: 'stable',
        now: T0,
      });
      return [one.signed.sequence, two.signed.sequence];
    };
    /** latest.json of both specs and every history copy: what an operator's clean-up once deleted */
    const loseAll = async () => {
      for (const k of ['latest.json', 'v2/latest.json', ...(await target.keys('history/'))]) await target.remove(k);
      assert.deepEqual(await target.keys('history/'), []);
    };
    before(async () => {
      key = testKey();
      repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
      target = kind === 'directory' ? await directoryTarget(repo.root) : await s3Target(await startS3rver());
      env = { ...target.env, MNGD_SIGNING_KEY: key.private };
      await repo.writeRelease({ version: '1.0.0' });
      const first = await repo.run(['publish'], env, T0);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(await sequences(), [secs(T0), secs(T0)]);
    });
    after(async () => {
      await target.close();
      await repo.close();
    });

    it('keeps each spec strictly above every sequence it published, in the same second', async () => {
      await loseAll();
      await repo.writeRelease({ version: '1.0.1' });
      const run = await repo.run(['publish'], env, T0);
      assert.equal(run.code, 0, run.stderr);
      // equal to the last would be MANIFEST_SEQUENCE_REUSED for every agent that took it
      assert.deepEqual(await sequences(), [secs(T0) + 1, secs(T0) + 1]);
      const floor = JSON.parse((await target.read('sequence-floor/v2/stable.json')) ?? '{}') as Record<string, unknown>;
      assert.deepEqual(floor, {
        type: 'mngd-sequence-floor',
        spec: 2,
        channel: 'stable',
        sequence: secs(T0) + 1,
        published_at: '2026-11-27T02:00:00Z',
      });
    });

    it('gives a target published before floors existed its floor on the next publish, even when nothing changed', async () => {
      await target.remove('sequence-floor/stable.json');
      await target.remove('sequence-floor/v2/stable.json');
      const unchanged = await repo.run(['publish'], env, T0);
      assert.equal(unchanged.code, 0, unchanged.stderr);
      assert.match(unchanged.stdout, /Wrote 0 of 2 manifest\(s\)/);
      await loseAll();
      await repo.writeRelease({ version: '1.0.2' });
      const run = await repo.run(['publish'], env, T0);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await sequences(), [secs(T0) + 2, secs(T0) + 2]);
    });
  });
}
