import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyFromBase64, signingKeysFromText } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { MngdError } from '../../../schema/errors.js';
import { exitCodeOf } from '../../../schema/exit.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { publishManifests } from '../../../pipeline/manifests/publish.js';
import { signingKeys } from '../../../pipeline/manifests/signing-keys.js';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import type { ObjectStore } from '../../../pipeline/manifests/store/object-store.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const HOUR = 3600_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const secs = (d: Date): number => Math.floor(d.getTime() / 1000);
const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

function verifyWith(text: Buffer | string, keys: readonly TestKey[], channel = 'stable', now = T0) {
  return verifyManifest(text, { trustedKeys: keys.map((k) => publicKeyFromBase64(k.public_key)), channel, now });
}

async function loaded(repo: ReleaseRepo) {
  const set = await loadReleaseSet(repo.root);
  assert.deepEqual(set.problems, []);
  assert.ok(set.policy !== null);
  return { policy: set.policy, releases: set.releases.map((r) => r.release) };
}

describe('publish to a directory', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let bucket: string;
  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key] });
    await repo.writeRelease({ version: '1.0.0' });
    await repo.writeRelease({ version: '1.0.1', rollout_percent: 20 });
    bucket = join(repo.root, '.state', 'bucket');
  });
  after(() => repo.close());

  it('writes to <state>/bucket by default, atomically, with history copies', async () => {
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, T0);
    assert.equal(run.code, 0, run.stderr);
    const latest = await readFile(join(bucket, 'latest.json'));
    assert.deepEqual(
      verifyWith(latest, [key]).signed.releases.map((r) => r.version),
      ['1.0.1', '1.0.0'],
    );
    assert.deepEqual(await readFile(join(bucket, 'history', 'stable', `${secs(T0)}.json`)), latest);
    verifyWith(await readFile(join(bucket, 'channels', 'beta', 'latest.json')), [key], 'beta');
    assert.deepEqual((await new DirectoryStore(bucket).list('channels/')).sort(), ['channels/beta/latest.json']);
  });

  it('prints what it did as JSON with --json', async () => {
    const run = await repo.run(['publish', '--json'], { MNGD_SIGNING_KEY: key.private }, at(HOUR));
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as {
      target: string;
      channels: { channel: string; action: string; sequence: number }[];
    };
    assert.equal(out.target, bucket);
    assert.deepEqual(
      out.channels.map((c) => [c.channel, c.action, c.sequence]),
      [
        ['stable', 'unchanged', secs(T0)],
        ['beta', 'unchanged', secs(T0)],
      ],
    );
  });

  it('never lets the sequence go back when latest.json was lost, even with a clock behind (within the allowed skew)', async () => {
    await rm(join(bucket, 'latest.json'));
    const behind = at(-4 * 60_000);
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, behind);
    assert.equal(run.code, 0, run.stderr);
    const v = verifyWith(await readFile(join(bucket, 'latest.json')), [key], 'stable', behind);
    assert.equal(v.signed.sequence, secs(T0) + 1);
    // Not "nothing was published on this channel yet": history/ says otherwise.
    assert.deepEqual(
      run.stdout.split('\n').filter((l) => l.startsWith('stable: published latest.json')),
      [
        `stable: published latest.json sequence ${secs(T0) + 1} (previous ${secs(T0)}), expires ${v.signed.expires_at}: nothing is at latest.json, but history/ holds copies up to sequence ${secs(T0)} (deleted or lost?): written again from git, numbered after them; offers 1.0.1 (20%), 1.0.0; floor none`,
      ],
    );
  });

  it('replaces a latest.json changed by hand with a correctly signed one', async () => {
    const file = join(bucket, 'latest.json');
    const tampered = JSON.parse(await readFile(file, 'utf8')) as {
      signed: { releases: { rollout_percent: number }[] };
    };
    const first = tampered.signed.releases[0];
    assert.ok(first);
    first.rollout_percent = 100;
    await writeFile(file, JSON.stringify(tampered));
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, at(2 * HOUR));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: published .*(signature|releases changed)/);
    const v = verifyWith(await readFile(file), [key], 'stable', at(2 * HOUR));
    assert.equal(v.signed.releases[0]?.rollout_percent, 20);
  });

  it('says what it would write with --dry-run, and writes nothing', async () => {
    await repo.writeRelease({ version: '1.0.2' });
    const before = await readFile(join(bucket, 'latest.json'));
    const run = await repo.run(['publish', '--dry-run'], { MNGD_SIGNING_KEY: key.private }, at(3 * HOUR));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stable: would publish latest\.json/);
    assert.match(run.stdout, /1\.0\.2: git offers it/);
    assert.deepEqual(await readFile(join(bucket, 'latest.json')), before);
    assert.equal(await exists(join(bucket, 'history', 'stable', `${secs(at(3 * HOUR))}.json`)), false);
    await repo.removeRelease('1.0.2');
  });

  it('loses a race to a concurrent publisher with STORE_CONFLICT (exit 3) and never overwrites its manifest', async () => {
    await repo.writeRelease({ version: '1.0.3' });
    const { policy, releases } = await loaded(repo);
    const inner = new DirectoryStore(bucket);
    const other = Buffer.from('{"written by":"the other run"}\n');
    let raced = false;
    // the other run writes latest.json between our read and our write
    const store: ObjectStore = {
      location: inner.location,
      get: (k) => inner.get(k),
      list: (p) => inner.list(p),
      put: async (k, b, o) => {
        if (k === 'latest.json' && !raced) {
          raced = true;
          await inner.put(k, other, { contentType: 'application/json' });
        }
        return inner.put(k, b, o);
      },
    };
    await assert.rejects(
      publishManifests({ releases, policy, keys: signingKeysFromText(key.private), store, now: at(4 * HOUR) }),
      (err: unknown) =>
        err instanceof MngdError &&
        err.code === 'STORE_CONFLICT' &&
        exitCodeOf(err) === 3 &&
        /re-run/.test(err.message),
    );
    assert.deepEqual(await readFile(join(bucket, 'latest.json')), other);
    // the history copy of the same sequence is refused too: a second run cannot take it
    await assert.rejects(
      inner.put(`history/stable/${secs(at(4 * HOUR))}.json`, Buffer.from('x'), {
        contentType: 'application/json',
        condition: { ifNoneMatch: '*' },
      }),
      (err: unknown) => err instanceof MngdError && err.code === 'STORE_CONFLICT',
    );
    // re-running converges
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, at(4 * HOUR));
    assert.equal(run.code, 0, run.stderr);
    const v = verifyWith(await readFile(join(bucket, 'latest.json')), [key], 'stable', at(4 * HOUR));
    assert.equal(v.signed.releases[0]?.version, '1.0.3');
    assert.equal(v.signed.sequence, secs(at(4 * HOUR)) + 1);
  });

  it('refuses invalid releases with exit 1 and writes nothing', async () => {
    await writeFile(join(repo.releases, '2.0.0.yaml'), 'version: "2.0.0"\nsha256: nope\n');
    const before = await readFile(join(bucket, 'latest.json'));
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, at(5 * HOUR));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /2\.0\.0\.yaml/);
    assert.deepEqual(await readFile(join(bucket, 'latest.json')), before);
    await repo.removeRelease('2.0.0');
  });

  it('refuses to re-point a published version to another package (exit 1), in plan and publish, and writes nothing', async () => {
    await repo.writeRelease({ version: '1.0.3', sha256: 'ab'.repeat(32), size: 4242 });
    const before = await readFile(join(bucket, 'latest.json'));
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private }, at(6 * HOUR));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /IMMUTABLE_FIELD_CHANGED/);
    assert.match(run.stderr, /sha256 of 1\.0\.3 is "abab/);
    assert.match(run.stderr, /size of 1\.0\.3 is 4242/);
    assert.deepEqual(await readFile(join(bucket, 'latest.json')), before);
    assert.equal(await exists(join(bucket, 'history', 'stable', `${secs(at(6 * HOUR))}.json`)), false);
    const plan = await repo.run(['plan'], {}, at(6 * HOUR));
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout + plan.stderr, /releases\/1\.0\.3\.yaml: error IMMUTABLE_FIELD_CHANGED/);
    await repo.writeRelease({ version: '1.0.3' });
  });
});

describe('publish targets', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  before(async () => {
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    await repo.writeRelease({ version: '1.0.0' });
  });
  after(() => repo.close());

  it('takes --target over MNGD_PUBLISH_TARGET over the policy, and MNGD_STATE_DIR moves the default', async () => {
    const env = { MNGD_SIGNING_KEY: key.private };
    await repo.run(['publish'], { ...env, MNGD_STATE_DIR: 'elsewhere' }, T0);
    assert.ok(await exists(join(repo.root, 'elsewhere', 'bucket', 'latest.json')));
    await repo.writePolicy({ trusted: [key], channels: ['stable'], extra: 'publish:\n  target: from-policy\n' });
    await repo.run(['publish'], env, T0);
    assert.ok(await exists(join(repo.root, 'from-policy', 'latest.json')));
    await repo.run(['publish'], { ...env, MNGD_PUBLISH_TARGET: 'from-env' }, T0);
    assert.ok(await exists(join(repo.root, 'from-env', 'latest.json')));
    const run = await repo.run(
      ['publish', '--target', join(repo.root, 'from-flag')],
      { ...env, MNGD_PUBLISH_TARGET: 'from-env-2' },
      T0,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(await exists(join(repo.root, 'from-flag', 'latest.json')));
    assert.equal(await exists(join(repo.root, 'from-env-2')), false);
  });

  it('refuses a target it cannot publish to with exit 2', async () => {
    for (const target of ['ftp://host/x', 's3://UPPER/x', 's3://ok-bucket/a/../b', 'https://example.com/']) {
      const run = await repo.run(['publish', '--target', target], { MNGD_SIGNING_KEY: key.private }, T0);
      assert.equal(run.code, 2, `${target}: ${run.stderr}`);
    }
    const run = await repo.run(
      ['publish', '--target', 's3://ok-bucket/x', '--endpoint', 'not a url'],
      { MNGD_SIGNING_KEY: key.private },
      T0,
    );
    assert.equal(run.code, 2, run.stderr);
  });
});

describe('signing keys', () => {
  let repo: ReleaseRepo;
  let oldKey: TestKey;
  let newKey: TestKey;
  let stranger: TestKey;
  let bucket: string;
  before(async () => {
    oldKey = testKey();
    newKey = testKey();
    stranger = testKey();
    repo = await makeReleaseRepo({ trusted: [oldKey], channels: ['stable'] });
    await repo.writeRelease({ version: '1.0.0' });
    bucket = join(repo.root, '.state', 'bucket');
  });
  after(() => repo.close());

  it('refuses to run without MNGD_SIGNING_KEY (exit 2), naming the variable and keygen, before anything is written', async () => {
    for (const value of [undefined, '', '  \n']) {
      const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: value }, T0);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /MNGD_SIGNING_KEY/);
      assert.match(run.stderr, /mngd-release keygen/);
    }
    assert.equal(await exists(bucket), false);
  });

  it('refuses a key the policy does not trust (exit 1) before anything is written', async () => {
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: stranger.private }, T0);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /SIGNING_KEY_UNTRUSTED/);
    assert.match(run.stderr, new RegExp(stranger.keyid));
    assert.ok(!run.stderr.includes(stranger.private.slice(8)));
    // one untrusted key among trusted ones is refused too
    const both = await repo.run(['publish'], { MNGD_SIGNING_KEY: `${oldKey.private},${stranger.private}` }, T0);
    assert.equal(both.code, 1);
    assert.equal(await exists(bucket), false);
    assert.throws(
      () =>
        signingKeys({
          env: { MNGD_SIGNING_KEY: stranger.private },
          policy: { trusted_keys: [{ keyid: oldKey.keyid, public_key: oldKey.public_key }] },
        }),
      (err: unknown) => err instanceof MngdError && err.code === 'SIGNING_KEY_UNTRUSTED',
    );
  });

  it('refuses a trusted key id listed with another public key', () => {
    assert.throws(
      () =>
        signingKeys({
          env: { MNGD_SIGNING_KEY: oldKey.private },
          policy: { trusted_keys: [{ keyid: oldKey.keyid, public_key: newKey.public_key }] },
        }),
      (err: unknown) => err instanceof MngdError && err.code === 'SIGNING_KEY_UNTRUSTED',
    );
  });

  it('refuses a malformed key (exit 1) without echoing it', async () => {
    const secret = 'ed25519:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';
    const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: secret }, T0);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /KEY_INVALID/);
    assert.ok(!run.stderr.includes('c2VjcmV0'));
    assert.equal(await exists(bucket), false);
  });

  it('masks the key text and each key in GitHub Actions logs', () => {
    const masked: string[] = [];
    const text = `${oldKey.private},\n${oldKey.private}`;
    const keys = signingKeys({
      env: { MNGD_SIGNING_KEY: text, GITHUB_ACTIONS: 'true' },
      policy: { trusted_keys: [{ keyid: oldKey.keyid, public_key: oldKey.public_key }] },
      mask: (s) => masked.push(s),
    });
    assert.ok(masked.includes(text) && masked.includes(oldKey.private));
    assert.equal(keys.length, 1, 'the same key twice signs once');
  });

  it('rotates: two keys sign together, an agent trusting either one accepts, and dropping the old key re-signs', async () => {
    assert.equal((await repo.run(['publish'], { MNGD_SIGNING_KEY: oldKey.private }, T0)).code, 0);
    await repo.writePolicy({ trusted: [oldKey, newKey], channels: ['stable'] });
    let run = await repo.run(['publish'], { MNGD_SIGNING_KEY: `${oldKey.private}\n${newKey.private}` }, at(HOUR));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /signing keys changed/);
    let latest = await readFile(join(bucket, 'latest.json'));
    const v = verifyWith(latest, [oldKey], 'stable', at(HOUR));
    assert.equal(v.manifest.signatures.length, 2);
    assert.deepEqual(verifyWith(latest, [newKey], 'stable', at(HOUR)).signers, [newKey.keyid]);

    await repo.writePolicy({ trusted: [newKey], channels: ['stable'] });
    run = await repo.run(['publish'], { MNGD_SIGNING_KEY: newKey.private }, at(2 * HOUR));
    assert.equal(run.code, 0, run.stderr);
    latest = await readFile(join(bucket, 'latest.json'));
    assert.throws(
      () => verifyWith(latest, [oldKey], 'stable', at(2 * HOUR)),
      (err: unknown) => err instanceof MngdError && err.code === 'MANIFEST_SIGNATURE',
    );
    verifyWith(latest, [newKey], 'stable', at(2 * HOUR));
  });

  it('never writes a manifest its own agents would reject: the self-check refuses it before anything is written', async () => {
    // Past the CLI's SIGNING_KEY_UNTRUSTED check (a caller of the module, a bug): a key the policy does not trust.
    const fresh = await makeReleaseRepo({ trusted: [testKey()] });
    try {
      await fresh.writeRelease({ version: '1.0.0' });
      const { policy, releases } = await loaded(fresh);
      const dir = join(fresh.root, 'untrusted-bucket');
      const store = new DirectoryStore(dir);
      await assert.rejects(
        publishManifests({ releases, policy, keys: signingKeysFromText(testKey().private), store, now: T0 }),
        (err: unknown) =>
          err instanceof MngdError &&
          err.code === 'MANIFEST_SELF_CHECK' &&
          exitCodeOf(err) === 1 &&
          /the stable manifest built here does not verify/.test(err.message),
      );
      assert.equal(await exists(dir), false, 'nothing written');
    } finally {
      await fresh.close();
    }
  });
});
