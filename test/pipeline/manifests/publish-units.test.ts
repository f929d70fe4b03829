import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { MngdError } from '../../../schema/errors.js';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import { decide } from '../../../pipeline/manifests/compare.js';
import { inspectManifest, maxHistorySequence } from '../../../pipeline/manifests/read.js';
import { chooseTarget, openStore, parseTarget } from '../../../pipeline/manifests/target.js';
import { S3Store } from '../../../pipeline/manifests/store/s3-store.js';
import type { Release } from '../../../schema/types.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const DAY = 24 * 3600_000;
const policy = {
  manifest: { lifetime_days: 14, refresh_window_days: 7, cache_control: 'public, max-age=60', max_releases: 20 },
};
const rel = (version: string, extra: Partial<Release> = {}): Release => ({
  version,
  download_url: `https://cdn.example.test/${version}.pkg`,
  sha256: 'c'.repeat(64),
  size: 10,
  active: true,
  channel: 'stable',
  rollout_percent: 100,
  ...extra,
});

describe('parseTarget', () => {
  it('reads s3://bucket/prefix, trimming slashes', () => {
    assert.deepEqual(parseTarget('s3://mngd-updates/agent/v1/', '/repo'), {
      kind: 's3',
      bucket: 'mngd-updates',
      prefix: 'agent/v1',
      text: 's3://mngd-updates/agent/v1/',
    });
    assert.deepEqual(parseTarget('s3://mngd-updates', '/repo'), {
      kind: 's3',
      bucket: 'mngd-updates',
      prefix: '',
      text: 's3://mngd-updates',
    });
  });

  it('takes a relative directory from the repository root', () => {
    assert.deepEqual(parseTarget('out/bucket', '/repo'), {
      kind: 'directory',
      path: resolve('/repo', 'out/bucket'),
      text: 'out/bucket',
    });
    assert.equal((parseTarget('/abs/dir', '/repo') as { path: string }).path, '/abs/dir');
  });

  it('refuses other schemes, bad buckets and climbing prefixes with a usage error', () => {
    for (const t of [
      'gs://bucket/x',
      'https://cdn/x',
      's3://Bad_Bucket',
      's3://ab',
      's3://ok-bucket/../x',
      's3://ok-bucket/a//b',
      '  ',
    ]) {
      assert.throws(
        () => parseTarget(t, '/repo'),
        (err: unknown) => err instanceof MngdError && err.code === 'CONFIG_INVALID',
        t,
      );
    }
  });

  it('defaults to <state>/bucket and lets MNGD_STATE_DIR move it', () => {
    assert.deepEqual(chooseTarget({ root: '/repo', env: {}, policy: null }), {
      kind: 'directory',
      path: '/repo/.state/bucket',
      text: '/repo/.state/bucket',
    });
    assert.equal(
      (chooseTarget({ root: '/repo', env: { MNGD_STATE_DIR: '/var/mngd' }, policy: null }) as { path: string }).path,
      '/var/mngd/bucket',
    );
    assert.equal(
      chooseTarget({
        root: '/repo',
        env: { MNGD_PUBLISH_TARGET: ' ' },
        policy: { publish: { target: 's3://from-policy' } },
      }).text,
      's3://from-policy',
    );
  });

  it('opens an S3 store with the injected credentials and path-style addressing for an endpoint', () => {
    const store = openStore(
      parseTarget('s3://bucket-x/p', '/repo'),
      { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', MNGD_S3_ENDPOINT: 'http://127.0.0.1:9' },
      null,
    );
    assert.ok(store instanceof S3Store);
    assert.equal(store.location, 's3://bucket-x/p');
    assert.deepEqual(store.opts, {
      bucket: 'bucket-x',
      prefix: 'p',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    store.close();
    // without an endpoint: virtual-hosted style and the SDK's default credential chain
    const aws = openStore(
      parseTarget('s3://bucket-x', '/repo'),
      { AWS_REGION: 'eu-west-1' },
      { publish: { region: 'us-east-2' } },
    );
    assert.ok(aws instanceof S3Store);
    assert.deepEqual(aws.opts, { bucket: 'bucket-x', prefix: '', region: 'eu-west-1' });
    aws.close();
  });
});

describe('decide', () => {
  const built = buildSignedManifest({
    channel: 'stable',
    releases: [rel('1.0.0')],
    policy,
    now: T0,
    previousSequence: null,
  });
  const published = (signed = built, keyids = ['k1']) => ({
    object: { body: Buffer.alloc(0), etag: 'e' },
    manifest: { signed, signatures: keyids.map((keyid) => ({ keyid, sig: '' })) },
    problem: null,
    signers: keyids,
  });

  it('creates a manifest where none is published', () => {
    assert.equal(
      decide({ object: null, manifest: null, problem: null }, built, ['k1'], T0, {
        refresh: false,
        refreshWindowDays: 7,
      }).action,
      'created',
    );
  });

  it('rewrites a published manifest that does not verify', () => {
    const d = decide(
      { ...published(), problem: 'has no valid signature from a key the policy trusts' },
      built,
      ['k1'],
      T0,
      { refresh: false, refreshWindowDays: 7 },
    );
    assert.equal(d.action, 'updated');
    assert.match(d.reason, /no valid signature/);
  });

  it('ignores sequence and times, but not content or the set of signing keys', () => {
    const later = buildSignedManifest({
      channel: 'stable',
      releases: [rel('1.0.0')],
      policy,
      now: new Date(T0.getTime() + DAY),
      previousSequence: built.sequence,
    });
    assert.equal(decide(published(), later, ['k1'], T0, { refresh: false, refreshWindowDays: 7 }).action, 'unchanged');
    const changed = buildSignedManifest({
      channel: 'stable',
      releases: [rel('1.0.0', { rollout_percent: 50 })],
      policy,
      now: T0,
      previousSequence: null,
    });
    const d = decide(published(), changed, ['k1'], T0, { refresh: false, refreshWindowDays: 7 });
    assert.equal(d.action, 'updated');
    assert.deepEqual(d.changes, ['1.0.0 rollout_percent: git says 50, published says 100']);
    assert.equal(
      decide(published(), later, ['k1', 'k2'], T0, { refresh: false, refreshWindowDays: 7 }).action,
      'updated',
    );
  });

  it('refreshes only inside the window with --refresh, and always once expired', () => {
    const opts = { refresh: true, refreshWindowDays: 7 };
    assert.equal(decide(published(), built, ['k1'], new Date(T0.getTime() + 7 * DAY - 1000), opts).action, 'unchanged');
    assert.equal(decide(published(), built, ['k1'], new Date(T0.getTime() + 7 * DAY), opts).action, 'refreshed');
    assert.equal(
      decide(published(), built, ['k1'], new Date(T0.getTime() + 7 * DAY), { ...opts, refresh: false }).action,
      'unchanged',
    );
    assert.equal(
      decide(published(), built, ['k1'], new Date(T0.getTime() + 14 * DAY), { ...opts, refresh: false }).action,
      'refreshed',
    );
  });
});

describe('published state', () => {
  it('takes the highest numeric history object of the channel only', () => {
    assert.equal(
      maxHistorySequence(
        [
          'history/stable/5.json',
          'history/stable/12.json',
          'history/stable/x.json',
          'history/stable/99.json.tmp',
          'history/beta/500.json',
        ],
        'stable',
      ),
      12,
    );
    assert.equal(maxHistorySequence([], 'stable'), null);
  });

  it('still reads the sequence of a damaged manifest, so it is never reused', () => {
    const r = inspectManifest(Buffer.from('{"signed":{"sequence":1795744800},"signatures":[]}'), 'stable', []);
    assert.equal(r.manifest, null);
    assert.equal(r.latestSequence, 1795744800);
    assert.match(r.problem ?? '', /schema/);
    assert.equal(inspectManifest(Buffer.from([0xff, 0xfe]), 'stable', []).latestSequence, null);
  });
});
