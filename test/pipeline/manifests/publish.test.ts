import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes } from '../../../schema/canonical.js';
import { publicKeyFromBase64, signingKeysFromText } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { signEnvelope } from '../../../schema/signing.js';
import { MngdError } from '../../../schema/errors.js';
import type { Manifest } from '../../../schema/types.js';
import { exitCodeOf } from '../../../schema/exit.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import { publishManifests, serializeManifest } from '../../../pipeline/manifests/publish.js';
import { openStore, parseTarget } from '../../../pipeline/manifests/target.js';
import type { ObjectStore } from '../../../pipeline/manifests/store/object-store.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const secs = (d: Date): number => Math.floor(d.getTime() / 1000);

function verify(text: string | Buffer | null, key: TestKey, channel: string, now: Date) {
  assert.ok(text !== null, `no ${channel} manifest`);
  return verifyManifest(text, { trustedKeys: [publicKeyFromBase64(key.public_key)], channel, now });
}

async function seedReleases(repo: ReleaseRepo): Promise<void> {
  await repo.writeRelease({ version: '1.0.1' });
  await repo.writeRelease({ version: '1.0.2', min_required_version: '1.0.1', release_notes: 'Security fix.' });
  await repo.writeRelease({ version: '1.0.3', rollout_percent: 10 });
  await repo.writeRelease({ version: '1.1.0', channel: 'beta' });
}

async function loaded(repo: ReleaseRepo) {
  const set = await loadReleaseSet(repo.root);
  assert.deepEqual(set.problems, []);
  assert.ok(set.policy !== null);
  return { set, policy: set.policy, releases: set.releases.map((r) => r.release) };
}

/** A store that lets a test act between two writes (an outage, a concurrent publisher). */
function hooked(
  inner: ObjectStore,
  afterPut: (key: string) => Promise<void>,
  beforePut: (key: string) => Promise<void> = async () => undefined,
): ObjectStore & { puts: string[] } {
  const puts: string[] = [];
  return {
    location: inner.location,
    puts,
    get: (k) => inner.get(k),
    list: (p) => inner.list(p),
    put: async (k, b, o) => {
      await beforePut(k);
      const etag = await inner.put(k, b, o);
      puts.push(k);
      await afterPut(k);
      return etag;
    },
  };
}

describe('publish to S3 (s3rver on loopback)', () => {
  let s3: TestS3;
  let repo: ReleaseRepo;
  let key: TestKey;
  let env: Record<string, string>;
  before(async () => {
    s3 = await startS3rver();
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key] });
    await seedReleases(repo);
    env = { ...s3.env, MNGD_SIGNING_KEY: key.private, MNGD_PUBLISH_TARGET: s3.target('agent') };
  });
  after(async () => {
    await s3.close();
    await repo.close();
  });

  it('writes the signed manifest of each channel, its history copy and the policy headers', async () => {
    const run = await repo.run(['publish'], env, T0);
    assert.equal(run.code, 0, run.stderr);
    const text = await s3.getText('agent/latest.json');
    // the exact bytes: the pure builder's output, signed, serialized
    const { policy, releases } = await loaded(repo);
    const signed = buildSignedManifest({ channel: 'stable', releases, policy, now: T0, previousSequence: null });
    assert.equal(text, serializeManifest(signEnvelope(signed, signingKeysFromText(key.private))).toString());
    const v = verify(text, key, 'stable', T0);
    assert.equal(v.signed.sequence, secs(T0));
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.3', '1.0.2'],
    );
    assert.equal(v.signed.min_required_version, '1.0.1');
    assert.equal(v.signed.expires_at, '2026-12-11T02:00:00Z');
    const head = await s3.head('agent/latest.json');
    assert.equal(head?.ContentType, 'application/json');
    assert.equal(head?.CacheControl, 'public, max-age=60');
    assert.equal(await s3.getText(`agent/history/stable/${secs(T0)}.json`), text);
    const histHead = await s3.head(`agent/history/stable/${secs(T0)}.json`);
    assert.equal(histHead?.ContentType, 'application/json');

    const beta = verify(await s3.getText('agent/channels/beta/latest.json'), key, 'beta', T0);
    assert.deepEqual(
      beta.signed.releases.map((r) => r.version),
      ['1.1.0'],
    );
    assert.equal(
      await s3.getText(`agent/history/beta/${secs(T0)}.json`),
      await s3.getText('agent/channels/beta/latest.json'),
    );
    assert.match(run.stdout, /stable: published latest\.json sequence/);
    assert.ok(
      !run.stdout.includes(key.private.slice(8)) && !run.stderr.includes(key.private.slice(8)),
      'the key never reaches the output',
    );
  });

  it('writes nothing when nothing changed', async () => {
    const before = await s3.head('agent/latest.json');
    const beforeText = await s3.getText('agent/latest.json');
    const history = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'agent/' }));
    const run = await repo.run(['publish'], env, at(HOUR));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: unchanged/);
    assert.match(run.stdout, /Wrote 0 of 4 manifest\(s\)/);
    // an hour later a rewrite would carry new times: the bytes prove nothing was written
    assert.equal(await s3.getText('agent/latest.json'), beforeText);
    assert.equal((await s3.head('agent/latest.json'))?.LastModified?.getTime(), before?.LastModified?.getTime());
    const after = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'agent/' }));
    assert.equal(after.KeyCount, history.KeyCount);
  });

  it('falls back to the previous release with a higher sequence when the newest is yanked', async () => {
    const old = verify(await s3.getText('agent/latest.json'), key, 'stable', T0);
    await repo.removeRelease('1.0.3'); // what a revert of its commit does
    const now = at(2 * HOUR);
    const run = await repo.run(['publish'], env, now);
    assert.equal(run.code, 0, run.stderr);
    const v = verify(await s3.getText('agent/latest.json'), key, 'stable', now);
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.2'],
    );
    assert.ok(v.signed.sequence > old.signed.sequence);
    assert.equal(v.signed.sequence, secs(now));
    // an agent that accepted the old manifest accepts the new one (no rollback error)
    verifyManifest((await s3.getText('agent/latest.json')) ?? '', {
      trustedKeys: [publicKeyFromBase64(key.public_key)],
      channel: 'stable',
      now,
      previous: old.accepted,
    });
    assert.match(run.stdout, /1\.0\.3: published, but git does not offer it/);
    assert.ok((await s3.getText(`agent/history/stable/${secs(now)}.json`)) !== null);
    assert.ok((await s3.getText(`agent/history/stable/${secs(T0)}.json`)) !== null, 'history copies are kept');
  });

  it('re-signs with --refresh only once expiry is within the refresh window', async () => {
    const published = verify(await s3.getText('agent/latest.json'), key, 'stable', at(2 * HOUR));
    // 8 days left, window 7: not yet
    let run = await repo.run(['publish', '--refresh'], env, at(2 * HOUR + 6 * DAY));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: unchanged/);
    // 6 days left: without --refresh nothing happens, with it the manifest is re-signed
    const near = at(2 * HOUR + 8 * DAY);
    run = await repo.run(['publish'], env, near);
    assert.match(run.stdout, /stable: unchanged/);
    run = await repo.run(['publish', '--refresh'], env, near);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: re-signed .*refresh window/);
    const v = verify(await s3.getText('agent/latest.json'), key, 'stable', near);
    assert.equal(v.signed.sequence, secs(near));
    assert.ok(v.signed.sequence > published.signed.sequence);
    assert.equal(v.signed.expires_at, new Date(near.getTime() + 14 * DAY).toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(v.signed.releases, published.signed.releases);
  });

  it('always re-signs an expired manifest', async () => {
    const later = at(60 * DAY);
    const run = await repo.run(['publish'], env, later);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: re-signed .*expired/);
    verify(await s3.getText('agent/latest.json'), key, 'stable', later);
  });

  it('publishes a manifest that openssl verifies on its own', async () => {
    const manifest = JSON.parse((await s3.getText('agent/latest.json')) ?? '') as Manifest;
    const dir = await mkdtemp(join(tmpdir(), 'mngd-openssl-'));
    try {
      await writeFile(
        join(dir, 'pub.pem'),
        publicKeyFromBase64(key.public_key).key.export({ type: 'spki', format: 'pem' }),
      );
      await writeFile(join(dir, 'canonical.bin'), canonicalBytes(manifest.signed));
      const sig = manifest.signatures.find((s) => s.keyid === key.keyid);
      assert.ok(sig);
      await writeFile(join(dir, 'sig.bin'), Buffer.from(sig.sig, 'base64'));
      const args = [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        'pub.pem',
        '-rawin',
        '-in',
        'canonical.bin',
        '-sigfile',
        'sig.bin',
      ];
      assert.match(execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' }), /Signature Verified Successfully/);
      // and openssl rejects the same signature over changed content
      await writeFile(join(dir, 'canonical.bin'), canonicalBytes({ ...manifest.signed, min_required_version: null }));
      assert.notEqual(spawnSync('openssl', args, { cwd: dir }).status, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('publish when S3 fails in the middle', () => {
  let s3: TestS3;
  let repo: ReleaseRepo;
  let key: TestKey;
  let env: Record<string, string>;
  before(async () => {
    s3 = await startS3rver();
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    await seedReleases(repo);
    await repo.removeRelease('1.1.0');
    env = { ...s3.env, MNGD_SIGNING_KEY: key.private, MNGD_PUBLISH_TARGET: s3.target() };
    assert.equal((await repo.run(['publish'], env, T0)).code, 0);
  });
  after(async () => {
    await s3.close();
    await repo.close();
  });

  it('leaves the old latest.json whole when the server stops after the history write, and a re-run converges', async () => {
    const old = await s3.getText('latest.json');
    await repo.writeRelease({ version: '1.0.4' });
    const { policy, releases } = await loaded(repo);
    const target = parseTarget(s3.target(), repo.root);
    const inner = openStore(target, { ...s3.env }, policy);
    const store = hooked(inner, async (k) => {
      if (k.startsWith('history/')) await s3.stop(); // the outage, exactly between the two writes
    });
    const t1 = at(HOUR);
    try {
      await assert.rejects(
        publishManifests({ releases, policy, keys: signingKeysFromText(key.private), store, now: t1 }),
        (err: unknown) => err instanceof MngdError && err.code === 'STORE_UNAVAILABLE' && exitCodeOf(err) === 3,
      );
    } finally {
      inner.close?.();
      await s3.start();
    }
    assert.deepEqual(store.puts, ['sequence-floor/stable.json', `history/stable/${secs(t1)}.json`]);
    assert.equal(await s3.getText('latest.json'), old, 'latest.json is the old one, whole');
    verify(old, key, 'stable', t1);

    // the re-run at the same second cannot reuse the sequence the orphaned history copy took
    const run = await repo.run(['publish'], env, t1);
    assert.equal(run.code, 0, run.stderr);
    const v = verify(await s3.getText('latest.json'), key, 'stable', t1);
    assert.equal(v.signed.sequence, secs(t1) + 1);
    assert.equal(v.signed.releases[0]?.version, '1.0.4');
    const again = await repo.run(['publish'], env, at(2 * HOUR));
    assert.match(again.stdout, /stable: unchanged/);
  });

  it('exits 3 with a hint to re-run when the server is down, writing nothing', async () => {
    const old = await s3.getText('latest.json');
    await repo.writeRelease({ version: '1.0.5' });
    await s3.stop();
    let run;
    try {
      run = await repo.run(['publish'], env, at(3 * HOUR));
    } finally {
      await s3.start();
    }
    assert.equal(run.code, 3);
    assert.match(run.stderr, /re-run/);
    assert.equal(await s3.getText('latest.json'), old);
  });
});
