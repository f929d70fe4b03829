import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { choose2 } from '../../../schema/choose2.js';
import { inspectManifest2 } from '../../../pipeline/manifests/read2.js';
import { readOfferChanges } from '../../../pipeline/manifests/offer-read.js';
import { isSafetyChange } from '../../../pipeline/manifests/offer-change.js';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import type { Manifest, Manifest2 } from '../../../schema/types.js';
import { runRelease, tempRepo } from '../../support/cli.js';

const U = 'https://cdn.mngd.app/agent/';
const sha = (c: string) => c.repeat(64);
const T0 = new Date('2026-12-04T12:00:00Z');
const KEY = generateSigningKey();
const TRUSTED = [publicKeyFromBase64(KEY.public_key)];

// 1.0.0 every Mac runs; 1.1.0 has no universal package and needs macOS 13: spec 1 never lists it.
const R110 = `version: "1.1.0"
artifacts:
  - arch: arm64
    download_url: ${U}a-1.1.0.pkg
    sha256: ${sha('e')}
    size: 10
  - arch: x86_64
    download_url: ${U}x-1.1.0.pkg
    sha256: ${sha('f')}
    size: 20
requires:
  macos_min: "13.0"
`;

describe('publish: both specs', () => {
  let root: string;
  let releases: string;
  let bucket: string;
  const publish = (args: string[] = [], now = T0) =>
    runRelease(['publish', '--target', bucket, ...args], {
      cwd: root,
      env: { MNGD_SIGNING_KEY: KEY.privateKeyText },
      now,
    });
  const read = (key: string) => readFileSync(join(bucket, key));

  before(() => {
    ({ root, releases } = tempRepo());
    bucket = mkdtempSync(join(tmpdir(), 'mngd-bucket-'));
    const policy = readFileSync(join(releases, 'policy.yaml'), 'utf8').replace(
      /trusted_keys:[\s\S]*?(?=\nsupported_macos)/,
      `trusted_keys:\n  - keyid: ${KEY.keyid}\n    public_key: ${KEY.public_key}`,
    );
    writeFileSync(join(releases, 'policy.yaml'), policy);
    writeFileSync(join(releases, '1.1.0.yaml'), R110);
  });
  after(() => rmSync(bucket, { recursive: true, force: true }));

  it('writes spec 2 under v2/ and spec 1 at today paths, each verified, and names what spec-1 readers miss', async () => {
    const r = await publish();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stable: published latest\.json sequence \d+/);
    assert.match(r.stdout, /stable: published v2\/latest\.json sequence \d+/);
    assert.match(r.stdout, /beta: published v2\/channels\/beta\/latest\.json/);
    assert.match(
      r.stdout,
      /spec-1 readers: 1\.1\.0 not offered \(no universal package \(arm64, x86_64 only\), requires macOS ≥ 13\.0\)/,
    );
    const one = verifyManifest(read('latest.json'), { trustedKeys: TRUSTED, channel: 'stable', now: T0 });
    assert.deepEqual(
      one.signed.releases.map((x) => x.version),
      ['1.0.0'],
    );
    const two = inspectManifest2(read('v2/latest.json'), 'stable', TRUSTED);
    assert.equal(two.problem, null);
    const m2 = two.manifest!.signed;
    assert.deepEqual(
      m2.releases.map((x) => [x.version, x.artifacts.map((a) => a.arch), x.requires.macos_min]),
      [
        ['1.1.0', ['arm64', 'x86_64'], '13.0'],
        ['1.0.0', ['universal'], null],
      ],
    );
    assert.deepEqual(m2.releases[0]!.rollout, [{ at: null, percent: 100 }]);
    assert.deepEqual([m2.rings, m2.rescue_from], [{}, []]);
    assert.match(m2.provenance.commit, /^[0-9a-f]{7,64}$/);
    // each spec has its own history
    assert.deepEqual(readdirSync(join(bucket, 'history', 'v2', 'stable')), [`${m2.sequence}.json`]);
    assert.deepEqual(readdirSync(join(bucket, 'history', 'stable')), [`${one.signed.sequence}.json`]);
    assert.ok(existsSync(join(bucket, 'channels', 'beta', 'latest.json')));
    // spec 2 chooses per Mac: an Intel Mac on macOS 14 takes 1.1.0's x86_64 package, one on 12 takes nothing newer
    const mac = (macos: string, hwArch: 'arm64' | 'x86_64') =>
      choose2(m2, { deviceId: 'd', current: '1.0.0', macos, hwArch, clock: T0.getTime() }).target;
    assert.equal(mac('14.1', 'x86_64')?.artifact.download_url, `${U}x-1.1.0.pkg`);
    assert.equal(mac('12.7.6', 'x86_64'), null);
  });

  it('writes nothing the second time, and never reuses a spec-2 sequence when v2/latest.json is lost', async () => {
    const again = await publish([], new Date(T0.getTime() + 60_000));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /stable: unchanged \(v2\/latest\.json/);
    assert.match(again.stdout, /Wrote 0 of 4 manifest\(s\)/);
    const before = (JSON.parse(read('v2/latest.json').toString()) as Manifest2).signed.sequence;
    rmSync(join(bucket, 'v2', 'latest.json'));
    const later = new Date(T0.getTime() - 120_000); // a clock behind (within the allowed skew): the history still wins
    const r = await publish([], later);
    assert.equal(r.code, 0, r.stderr);
    const after = (JSON.parse(read('v2/latest.json').toString()) as Manifest2).signed.sequence;
    assert.equal(after, before + 1);
  });

  it('a yank of a spec-2-only release is a safety change: spec 2 offers less, spec 1 the same, and it rescues', async () => {
    writeFileSync(join(releases, '1.1.0.yaml'), `${R110}active: false\n`);
    const set = await loadReleaseSet(root);
    const changes = await readOfferChanges(
      new DirectoryStore(bucket),
      set.releases.map((x) => x.release),
      set.policy!,
      new Date(T0.getTime() + 120_000),
    );
    assert.deepEqual(
      changes.map((c) => [c.channel, c.effect]),
      [
        ['stable', 'same'],
        ['stable (spec 2)', 'less'],
        ['beta', 'same'],
        ['beta (spec 2)', 'less'],
      ],
    );
    assert.equal(isSafetyChange(changes), true);
    const r = await publish([], new Date(T0.getTime() + 120_000));
    assert.equal(r.code, 0, r.stderr);
    const m2 = (JSON.parse(read('v2/latest.json').toString()) as Manifest2).signed;
    assert.deepEqual(
      m2.releases.map((x) => x.version),
      ['1.0.0'],
    );
    assert.deepEqual(m2.rescue_from, ['1.1.0']);
    assert.match(r.stdout, /stable: unchanged \(latest\.json/);
    const one = JSON.parse(read('latest.json').toString()) as Manifest;
    assert.deepEqual(
      one.signed.releases.map((x) => x.version),
      ['1.0.0'],
    );
  });

  it('a new arm64-only release offers spec 2 more: not a safety change, though spec 1 is the same', async () => {
    writeFileSync(join(releases, '1.1.0.yaml'), R110);
    const set = await loadReleaseSet(root);
    const changes = await readOfferChanges(
      new DirectoryStore(bucket),
      set.releases.map((x) => x.release),
      set.policy!,
      new Date(T0.getTime() + 180_000),
    );
    assert.deepEqual(
      changes.map((c) => c.effect),
      ['same', 'more', 'same', 'more'],
    );
    assert.equal(isSafetyChange(changes), false);
  });
});
