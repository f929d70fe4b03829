/**
 * Rings and schedules published: spec 2 carries the schedule's absolute steps, the release's
 * rings and the ring hashed with ring_salt; a ring member takes the release at share 0 of the
 * schedule and others do not; no plain device id appears in any byte of the bucket (every file
 * s3rver stores is read).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { choose2 } from '../../../schema/choose2.js';
import { hashedRings } from '../../../schema/rings.js';
import { validateManifest2 } from '../../../schema/validators.js';
import type { Manifest2 } from '../../../schema/types.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const SALT = '7e11'.repeat(8);
const IDS = Array.from({ length: 1000 }, (_, i) => `C02RING${String(i).padStart(5, '0')}`);
const PUBLISHED = new Date('2026-12-07T06:00:00Z');
const RAMP = `rollout_schedule:
  start: "2026-12-07T09:00:00Z"
  steps:
    - { percent: 1, hold: 24h }
    - { percent: 10, hold: 48h }
    - { percent: 100 }
rings: [canary]
`;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

describe('rings and schedules, published to S3 (s3rver)', () => {
  let s3: TestS3;
  let repo: ReleaseRepo;
  let key: TestKey;
  before(async () => {
    s3 = await startS3rver();
    key = testKey();
    repo = await makeReleaseRepo({
      trusted: [key],
      extra: `rings:\n  canary:\n    device_ids_file: rings/canary.txt\nring_salt: "${SALT}"\n`,
    });
    await mkdir(join(repo.root, 'rings'));
    await writeFile(join(repo.root, 'rings', 'canary.txt'), `# the IT desk's Macs\n${IDS.join('\n')}\n`);
    await repo.writeRelease({ version: '1.0.0' });
    await repo.writeRelease({ version: '1.0.4', extra: RAMP });
    const run = await repo.run(
      ['publish', '--target', s3.target('agent')],
      { ...s3.env, MNGD_SIGNING_KEY: key.private },
      PUBLISHED,
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
  });
  after(async () => {
    await repo.close();
    await s3.close();
  });

  it('spec 2 carries the absolute steps, the release rings and the ring hashed with ring_salt, under 128 KiB', async () => {
    const text = await s3.getText('agent/v2/latest.json');
    assert.ok(text !== null);
    assert.ok(Buffer.byteLength(text) < 128 * 1024, `${Buffer.byteLength(text)} bytes`);
    const m = JSON.parse(text) as Manifest2;
    assert.ok(validateManifest2(m));
    const r = m.signed.releases.find((x) => x.version === '1.0.4')!;
    assert.deepEqual(r.rollout, [
      { at: null, percent: 0 },
      { at: '2026-12-07T09:00:00Z', percent: 1 },
      { at: '2026-12-08T09:00:00Z', percent: 10 },
      { at: '2026-12-10T09:00:00Z', percent: 100 },
    ]);
    assert.deepEqual(r.rings, ['canary']);
    assert.equal(m.signed.ring_salt, SALT);
    assert.deepEqual(m.signed.rings, hashedRings(SALT, { canary: IDS }));
    // spec 1 has no rings: the share in force at publish time, 0 before the start
    const one = JSON.parse((await s3.getText('agent/latest.json'))!) as {
      signed: { releases: { version: string; rollout_percent: number }[] };
    };
    assert.equal(one.signed.releases.find((x) => x.version === '1.0.4')?.rollout_percent, 0);
  });

  it('a ring member takes 1.0.4 at share 0 of the schedule; a device outside the ring does not', async () => {
    const m = JSON.parse((await s3.getText('agent/v2/latest.json'))!) as Manifest2;
    const device = { current: '1.0.0', macos: '14.6', hwArch: 'arm64' as const, clock: PUBLISHED.getTime() };
    assert.equal(choose2(m.signed, { ...device, deviceId: IDS[17]! }).target?.via, 'ring');
    assert.equal(choose2(m.signed, { ...device, deviceId: 'C02NOTINRING' }).target, null);
  });

  it('no plain device id appears in any byte the bucket holds', async () => {
    const all = await files(s3.dir);
    assert.ok(all.length >= 4, all.join(', '));
    let read = 0;
    for (const f of all) {
      const bytes = await readFile(f);
      read += bytes.length;
      for (const id of IDS) assert.equal(bytes.includes(id), false, `${id} in ${f}`);
    }
    assert.ok(read > 100_000, `${read} bytes read`);
  });
});
