/**
 * Issue #22 follow-up: publish holds this machine's clock against the object store's (the Date
 * header of s3rver's answers, set by the test as the publisher's clock is) before anything is
 * written: a clock a year ahead would sign manifests every agent refuses (MANIFEST_FROM_FUTURE)
 * and whose sequence holds every later publish back; a year behind on a first publish has nothing
 * else to be caught by. And a target such a publish already poisoned recovers without anyone
 * deleting a file: marks more than a day past the store's clock are set aside, those within a day
 * stay binding, and a history copy set aside never counts again, not even near its time. Real
 * s3rver on loopback, a real directory; the clocks are the test's.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { verifyManifest2 } from '../../../schema/manifest2.js';
import { checkStoreClock, storeWindow } from '../../../pipeline/manifests/store-clock.js';
import type { StoreTime } from '../../../pipeline/manifests/store/object-store.js';
import { MngdError } from '../../../schema/errors.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const DAY = 86_400_000;
const YEAR = 365 * DAY;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const secs = (d: Date): number => Math.floor(d.getTime() / 1000);

describe("the store's clock, pure: a right clock is never refused for a slow answer or the Date header's whole seconds", () => {
  // The server wrote "02:00:00" somewhere in the 2 s between sending and the answer, at 02:00:00.999 at most.
  const time: StoreTime = {
    header: T0.toUTCString(),
    date: T0,
    sentMs: 1000,
    answeredMs: 3000,
    source: 'a test',
  };
  const code = (now: Date): string | null => {
    try {
      checkStoreClock(now, time, 1000, 0);
      return null;
    } catch (err) {
      return (err as MngdError).code;
    }
  };
  it('bounds the store time at the start by the request and the header resolution', () => {
    assert.deepEqual(storeWindow(time, 1000), { earliestMs: T0.getTime() - 2000, latestMs: T0.getTime() + 1000 });
    // sent 500 ms after publish read its clock: the store's clock then was up to 500 ms earlier
    assert.deepEqual(storeWindow(time, 500), { earliestMs: T0.getTime() - 2500, latestMs: T0.getTime() + 500 });
  });
  it('with no skew allowed, refuses only past the window', () => {
    assert.equal(code(at(1000)), null);
    assert.equal(code(at(-2000)), null);
    assert.equal(code(at(1001)), 'CLOCK_AHEAD');
    assert.equal(code(at(-2001)), 'CLOCK_BEHIND');
  });
});

/** Every key the bucket holds under a prefix: what "nothing was written" compares. */
async function keys(s3: TestS3, prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

describe("publish holds its clock against the object store's (s3rver's Date header)", () => {
  let s3: TestS3;
  let repo: ReleaseRepo;
  let key: TestKey;
  const env = (prefix: string, extra: Record<string, string> = {}) => ({
    ...s3.env,
    MNGD_SIGNING_KEY: key.private,
    MNGD_PUBLISH_TARGET: s3.target(prefix),
    ...extra,
  });
  const sequenceAt = async (prefix: string, now: Date): Promise<number> =>
    verifyManifest((await s3.getText(`${prefix}/latest.json`)) ?? '', {
      trustedKeys: [publicKeyFromBase64(key.public_key)],
      channel: 'stable',
      now,
    }).signed.sequence;
  before(async () => {
    s3 = await startS3rver({ clock: () => T0 });
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    await repo.writeRelease({ version: '1.0.0' });
  });
  after(async () => {
    await s3.close();
    await repo.close();
  });

  it('refuses a clock a year ahead of the store: exit 3, CLOCK_AHEAD naming both times, the source and the fix; nothing written, --dry-run too', async () => {
    const run = await repo.run(['publish'], env('ahead'), at(YEAR));
    assert.equal(run.code, 3, run.stdout);
    assert.match(run.stderr, /\[CLOCK_AHEAD\]/);
    assert.match(
      run.stderr,
      /clock says 2027-11-27T02:00:00Z, 365 days ahead of the object store's clock \(2026-11-27T02:00:00Z: the Date header of s3:\/\/mngd-test\/ahead's answer to a listing, "Fri, 27 Nov 2026 02:00:00 GMT", answered in \d+ ms\)/,
    );
    assert.match(run.stderr, /every agent would refuse it \(MANIFEST_FROM_FUTURE\)/);
    assert.match(run.stderr, /Fix: set this machine's clock right \(NTP; "date -u" shows it\)/);
    assert.doesNotMatch(
      run.stderr,
      /re-run the job once the system is back/,
      'a re-run on this clock fails the same way',
    );
    assert.deepEqual(await keys(s3, 'ahead/'), []);
    const dry = await repo.run(['publish', '--dry-run'], env('ahead'), at(YEAR));
    assert.equal(dry.code, 3, dry.stdout);
    assert.match(dry.stderr, /\[CLOCK_AHEAD\]/);
  });

  it("refuses a clock a year behind on a channel's first publish (no published_at to hold it against): CLOCK_BEHIND from the store's clock", async () => {
    const run = await repo.run(['publish'], env('behind'), at(-YEAR));
    assert.equal(run.code, 3, run.stdout);
    assert.match(run.stderr, /\[CLOCK_BEHIND\]/);
    assert.match(run.stderr, /clock says 2025-11-27T02:00:00Z, 365 days behind the object store's clock \(2026-11-27/);
    assert.match(run.stderr, /could already be expired for every agent/);
    assert.deepEqual(await keys(s3, 'behind/'), []);
  });

  it('publishes a clock within MNGD_CLOCK_SKEW_SECONDS of the store either way, and refuses it past a smaller skew', async () => {
    const behind = await repo.run(['publish'], env('near'), at(-200_000));
    assert.equal(behind.code, 0, behind.stderr);
    assert.equal(await sequenceAt('near', at(-200_000)), secs(at(-200_000)));
    await repo.writeRelease({ version: '1.0.1' });
    try {
      const strict = await repo.run(['publish'], env('near', { MNGD_CLOCK_SKEW_SECONDS: '100' }), at(200_000));
      assert.equal(strict.code, 3, strict.stdout);
      assert.match(strict.stderr, /ahead of the object store's clock .*at most 100 s either way is allowed/);
      const run = await repo.run(['publish'], env('near'), at(200_000));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await sequenceAt('near', at(200_000)), secs(at(200_000)));
    } finally {
      await repo.removeRelease('1.0.1');
    }
  });
});

describe('a directory target has no clock of its own: the check is skipped', () => {
  it('publishes with a clock a year ahead; what that poisoned is refused later with a fix that works there', async () => {
    const key = testKey();
    const repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    const bucket = join(repo.root, '.state', 'bucket');
    const env = { MNGD_SIGNING_KEY: key.private };
    try {
      await repo.writeRelease({ version: '1.0.0' });
      const run = await repo.run(['publish'], env, at(YEAR));
      assert.equal(run.code, 0, run.stderr);
      const trustedKeys = [publicKeyFromBase64(key.public_key)];
      const ahead = verifyManifest(await readFile(join(bucket, 'latest.json')), {
        trustedKeys,
        channel: 'stable',
        now: at(YEAR),
      });
      assert.equal(ahead.signed.sequence, secs(at(YEAR)));
      // with a right clock: nothing to confirm it, so refused, naming what to move
      const refused = await repo.run(['publish'], env, T0);
      assert.equal(refused.code, 3, refused.stdout);
      assert.match(refused.stderr, /\[CLOCK_BEHIND\]/);
      const above = secs(T0) + 86_400;
      assert.match(
        refused.stderr,
        new RegExp(
          `move out of it the channel's latest\\.json \\(both specs\\), its sequence-floor/ objects and its history/ copies numbered above ${above}, then re-run`,
        ),
      );
      const moved = join(repo.root, 'moved');
      for (const k of [
        'latest.json',
        'v2/latest.json',
        'sequence-floor',
        `history/stable/${secs(at(YEAR))}.json`,
        `history/v2/stable/${secs(at(YEAR))}.json`,
      ]) {
        await mkdir(dirname(join(moved, k)), { recursive: true });
        await rename(join(bucket, k), join(moved, k));
      }
      const fixed = await repo.run(['publish'], env, T0);
      assert.equal(fixed.code, 0, fixed.stderr);
      const v = verifyManifest(await readFile(join(bucket, 'latest.json')), {
        trustedKeys,
        channel: 'stable',
        now: T0,
      });
      assert.equal(v.signed.sequence, secs(T0));
    } finally {
      await repo.close();
    }
  });
});

describe('a target poisoned by a publish whose clock (and the store it saw) was ahead', () => {
  let s3: TestS3;
  let repo: ReleaseRepo;
  let key: TestKey;
  const trusted = () => [publicKeyFromBase64(key.public_key)];
  const env = (prefix: string, extra: Record<string, string> = {}) => ({
    ...s3.env,
    MNGD_SIGNING_KEY: key.private,
    MNGD_PUBLISH_TARGET: s3.target(prefix),
    ...extra,
  });
  const text = async (k: string) => (await s3.getText(k)) ?? '';
  /** publishes `prefix` with the publisher and the store both at `when`: what a bad run left */
  const poison = async (prefix: string, when: Date) => {
    s3.setClock(() => when);
    try {
      const run = await repo.run(['publish'], env(prefix), when);
      assert.equal(run.code, 0, run.stderr);
    } finally {
      s3.setClock(() => T0);
    }
  };
  before(async () => {
    s3 = await startS3rver({ clock: () => T0 });
    key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], channels: ['stable'] });
    await repo.writeRelease({ version: '1.0.0' });
  });
  after(async () => {
    await s3.close();
    await repo.close();
  });

  it('sets aside the marks a year ahead (latest.json, the floor, history), warns naming each, and publishes with sequence = now', async () => {
    await poison('year', at(YEAR));
    // the same releases: only the poisoned latest.json makes this run write
    const run = await repo.run(['publish'], env('year'), T0);
    assert.equal(run.code, 0, run.stderr);
    const mark = `sequence ${secs(at(YEAR))}, published_at 2027-11-27T02:00:00Z`;
    for (const object of [
      'latest.json',
      'sequence-floor/stable.json',
      'v2/latest.json',
      'sequence-floor/v2/stable.json',
    ])
      assert.ok(
        run.stdout.includes(`warning: set aside ${object} (${mark}): more than a day past the object store's clock`),
        `${object} named: ${run.stdout}`,
      );
    assert.match(run.stdout, /warning: set aside history\/stable\/ \(copies numbered past \d+, up to \d+\)/);
    assert.match(
      run.stdout,
      /carries sequence \d+, published_at 2027-11-27T02:00:00Z, more than a day past the object store's clock/,
    );
    // what an agent at T0 takes: sequence = now, for both specs
    const one = verifyManifest(await text('year/latest.json'), { trustedKeys: trusted(), channel: 'stable', now: T0 });
    const two = verifyManifest2(await text('year/v2/latest.json'), {
      trustedKeys: trusted(),
      channel: 'stable',
      now: T0,
    });
    assert.deepEqual([one.signed.sequence, two.signed.sequence], [secs(T0), secs(T0)]);
    const floor = JSON.parse(await text('year/sequence-floor/stable.json')) as { sequence: number };
    assert.equal(floor.sequence, secs(T0));
    // and from then on the target is sound: an unchanged run warns of nothing
    const again = await repo.run(['publish'], env('year'), at(60_000));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Wrote 0 of 2 manifest\(s\)/);
    assert.doesNotMatch(again.stdout, /set aside/);
  });

  it('keeps a set-aside history copy from counting as its time nears: no MANIFEST_SELF_CHECK, each sequence = now, what an agent at now (or minutes behind) accepts; drift finds nothing', async () => {
    await poison('later', at(YEAR));
    const recovered = await repo.run(['publish'], env('later'), T0);
    assert.equal(recovered.code, 0, recovered.stderr);
    // drift reads without the store's clock: the copy a year on counts for it no more than for publish
    const drift = await repo.run(['drift', '--only', 'manifests', '--json'], env('later'), T0);
    assert.equal(drift.code, 0, drift.stdout + drift.stderr);
    assert.deepEqual((JSON.parse(drift.stdout) as { findings: unknown[] }).findings, []);
    // history/<channel>/<a year on>.json stays; the floor says T0. Each run below changes a release, so it writes.
    const runs: { name: string; publisher: Date; store: Date }[] = [
      // the store's clock ahead within the skew: its latest time + a day reaches the copy first
      { name: 'a day before, store 200 s ahead', publisher: at(YEAR - DAY - 100_000), store: at(YEAR - DAY + 100_000) },
      { name: 'a day before', publisher: at(YEAR - DAY), store: at(YEAR - DAY) },
      { name: 'a day before + 1 min', publisher: at(YEAR - DAY + 60_000), store: at(YEAR - DAY + 60_000) },
      { name: 'a year on - 3 h', publisher: at(YEAR - 3 * 3600_000), store: at(YEAR - 3 * 3600_000) },
      { name: 'a year on + 3 h', publisher: at(YEAR + 3 * 3600_000), store: at(YEAR + 3 * 3600_000) },
    ];
    const seen = [secs(T0)];
    const versions: string[] = [];
    try {
      for (const [i, r] of runs.entries()) {
        const version = `1.1.${i}`;
        await repo.writeRelease({ version });
        versions.push(version);
        s3.setClock(() => r.store);
        const run = await repo.run(['publish'], env('later'), r.publisher);
        s3.setClock(() => T0);
        assert.equal(run.code, 0, `${r.name}: ${run.stderr}`);
        assert.doesNotMatch(run.stdout, /set aside/, r.name);
        // an agent whose clock is now, and one five minutes behind (within the skew publish allows)
        for (const now of [r.publisher, new Date(r.publisher.getTime() - 300_000)]) {
          const one = verifyManifest(await text('later/latest.json'), {
            trustedKeys: trusted(),
            channel: 'stable',
            now,
          });
          const two = verifyManifest2(await text('later/v2/latest.json'), {
            trustedKeys: trusted(),
            channel: 'stable',
            now,
          });
          assert.deepEqual([one.signed.sequence, two.signed.sequence], [secs(r.publisher), secs(r.publisher)], r.name);
        }
        const sequence = verifyManifest(await text('later/latest.json'), {
          trustedKeys: trusted(),
          channel: 'stable',
          now: r.publisher,
        }).signed.sequence;
        assert.ok(sequence > seen[seen.length - 1]!, `${r.name}: ${sequence} after ${seen.join(', ')}`);
        seen.push(sequence);
      }
    } finally {
      s3.setClock(() => T0);
      for (const v of versions) await repo.removeRelease(v);
    }
  });

  it('keeps a history copy at most a day ahead binding when the floor was lost with latest.json: numbered after it', async () => {
    const ahead = at(12 * 3600_000);
    await poison('lost', ahead);
    for (const k of ['latest.json', 'v2/latest.json', 'sequence-floor/stable.json', 'sequence-floor/v2/stable.json'])
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `lost/${k}` }));
    const run = await repo.run(['publish'], env('lost'), T0);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /set aside/);
    // an agent may have taken that sequence: never lowered, and still within a day of an agent at T0
    const one = verifyManifest(await text('lost/latest.json'), { trustedKeys: trusted(), channel: 'stable', now: T0 });
    const two = verifyManifest2(await text('lost/v2/latest.json'), {
      trustedKeys: trusted(),
      channel: 'stable',
      now: T0,
    });
    assert.deepEqual([one.signed.sequence, two.signed.sequence], [secs(ahead) + 1, secs(ahead) + 1]);
  });

  it('keeps a mark at most a day ahead binding: refused as today (CLOCK_BEHIND), and once allowed, numbered after it', async () => {
    const ahead = at(12 * 3600_000);
    await poison('half-day', ahead);
    const run = await repo.run(['publish'], env('half-day'), T0);
    assert.equal(run.code, 3, run.stdout);
    assert.match(run.stderr, /\[CLOCK_BEHIND\]/);
    assert.match(run.stderr, /12 h 0 min before the stable manifest was last published/);
    // the fix the message offers works: an agent may have taken that sequence, so it is never lowered
    await repo.writeRelease({ version: '1.0.1' });
    try {
      const allowed = await repo.run(['publish'], env('half-day', { MNGD_CLOCK_SKEW_SECONDS: '86400' }), T0);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.doesNotMatch(allowed.stdout, /set aside/);
      const v = verifyManifest(await text('half-day/latest.json'), {
        trustedKeys: trusted(),
        channel: 'stable',
        now: T0,
      });
      assert.equal(v.signed.sequence, secs(ahead) + 1);
      assert.equal(v.signed.published_at, '2026-11-27T02:00:00Z');
    } finally {
      await repo.removeRelease('1.0.1');
    }
  });
});
