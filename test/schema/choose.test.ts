import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { bucket, choose, eligible } from '../../schema/choose.js';
import { compareVersions } from '../../schema/version.js';

const version = fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
const release = fc.record({ version, rollout_percent: fc.integer({ min: 0, max: 100 }) });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `device-${i}`);

describe('bucket', () => {
  it('is the first 4 bytes of SHA-256(device/version), big-endian, scaled to [0, 100)', () => {
    const d = createHash('sha256').update('dev-1/1.0.3').digest();
    assert.equal(bucket('dev-1', '1.0.3'), (d.readUInt32BE(0) * 100) / 2 ** 32);
    fc.assert(
      fc.property(fc.string(), version, (id, v) => {
        const b = bucket(id, v);
        assert.ok(b >= 0 && b < 100);
      }),
    );
  });
});

describe('choose', () => {
  it('never offers a version at or below the current one (property)', () => {
    fc.assert(
      fc.property(
        fc.array(release, { maxLength: 8 }),
        version,
        fc.option(version, { nil: null }),
        fc.string(),
        (releases, current, floor, deviceId) => {
          const { target } = choose({ releases, current, floor, deviceId });
          if (target !== null) assert.ok(compareVersions(target.version, current) > 0);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('offers the newest eligible release above the current one', () => {
    const releases = [
      { version: '1.0.3', rollout_percent: 100 },
      { version: '1.0.2', rollout_percent: 100 },
      { version: '1.0.4', rollout_percent: 0 },
    ];
    assert.equal(choose({ releases, current: '1.0.1', floor: null, deviceId: 'x' }).target?.version, '1.0.3');
    assert.equal(choose({ releases, current: '1.0.3', floor: null, deviceId: 'x' }).target, null);
  });

  it('does not downgrade a device whose version was yanked', () => {
    const releases = [{ version: '1.0.1', rollout_percent: 100 }];
    assert.equal(choose({ releases, current: '1.0.2', floor: null, deviceId: 'x' }).target, null);
  });

  for (const share of [1, 10, 25, 50, 99]) {
    it(`offers a ${share} % rollout to ${share} % ± 1 of 100,000 devices`, () => {
      const r = { version: '2.0.0', rollout_percent: share };
      const n = 100_000;
      const offered = ids(n).filter(
        (id) => choose({ releases: [r], current: '1.0.0', floor: null, deviceId: id }).target !== null,
      ).length;
      assert.ok(Math.abs((offered / n) * 100 - share) <= 1, `${offered} of ${n}`);
    });
  }

  it('forces an update below the floor regardless of the share, but never through a pause', () => {
    const devices = ids(2000);
    const staged = [{ version: '1.0.3', rollout_percent: 5 }];
    for (const id of devices) {
      const c = choose({ releases: staged, current: '1.0.1', floor: '1.0.3', deviceId: id });
      assert.equal(c.target?.version, '1.0.3');
      assert.equal(c.belowFloor, true);
      assert.equal(c.forced, !eligible(id, staged[0]!));
    }
    const paused = [{ version: '1.0.3', rollout_percent: 0 }];
    for (const id of devices.slice(0, 200)) {
      const c = choose({ releases: paused, current: '1.0.1', floor: '1.0.3', deviceId: id });
      assert.equal(c.target, null);
      assert.equal(c.belowFloor, true);
      assert.equal(c.blocked, false, 'nothing installable satisfies the floor: checkin is not blocked');
      assert.equal(c.unsupported, 'every release at or above the floor 1.0.3 is paused (1.0.3)');
    }
  });

  it('keeps an eligible target at or above the floor instead of forcing', () => {
    const releases = [
      { version: '1.0.4', rollout_percent: 100 },
      { version: '1.0.3', rollout_percent: 100 },
    ];
    const c = choose({ releases, current: '1.0.1', floor: '1.0.3', deviceId: 'x' });
    assert.equal(c.target?.version, '1.0.4');
    assert.equal(c.forced, false);
  });

  it('forces past an eligible target that is itself below the floor', () => {
    // 1.0.2 is offered to everyone but does not satisfy the floor 1.0.5: taking it would leave
    // the device blocked below the floor forever; the floor release is forced instead.
    const releases = [
      { version: '1.0.5', rollout_percent: 1 },
      { version: '1.0.2', rollout_percent: 100 },
    ];
    const id = ids(500).find((d) => !eligible(d, releases[0]!))!;
    const c = choose({ releases, current: '1.0.1', floor: '1.0.5', deviceId: id });
    assert.equal(c.target?.version, '1.0.5');
    assert.equal(c.forced, true);
    assert.equal(c.blocked, true);
  });

  it('does nothing for a device at or above the floor', () => {
    const c = choose({
      releases: [{ version: '1.0.3', rollout_percent: 0 }],
      current: '1.0.3',
      floor: '1.0.3',
      deviceId: 'x',
    });
    assert.deepEqual(c, { target: null, forced: false, belowFloor: false, blocked: false, unsupported: null });
  });

  it('keeps the normal target below a floor that nothing listed satisfies, without blocking', () => {
    const releases = [{ version: '1.0.2', rollout_percent: 100 }];
    const c = choose({ releases, current: '1.0.1', floor: '1.0.9', deviceId: 'x' });
    assert.deepEqual(c, {
      target: releases[0],
      forced: false,
      belowFloor: true,
      blocked: false,
      unsupported: 'the manifest lists no release at or above the floor 1.0.9',
    });
  });

  it('blocks checkin only when this device can install a release that satisfies the floor (property)', () => {
    const property = (rule: typeof choose) =>
      fc.property(
        fc.array(release, { maxLength: 8 }),
        version,
        fc.option(version, { nil: null }),
        fc.string(),
        (releases, current, floor, deviceId) => {
          const c = rule({ releases, current, floor, deviceId });
          if (!c.blocked) return;
          const installable = (r: (typeof releases)[number]) =>
            compareVersions(r.version, current) > 0 && r.rollout_percent > 0;
          assert.ok(floor !== null && compareVersions(current, floor) < 0, 'blocked only below a floor');
          assert.ok(releases.some((r) => installable(r) && compareVersions(r.version, floor) >= 0));
          // ...and that is what it is told to install.
          assert.ok(c.target !== null && installable(c.target) && compareVersions(c.target.version, floor) >= 0);
        },
      );
    fc.assert(property(choose), { numRuns: 5000 });
    // The property has teeth: the old rule ("below the floor blocks") breaks it.
    const old = fc.check(property(oldChoose), { numRuns: 5000 });
    assert.equal(old.failed, true, 'the old rule must fail the property');
  });

  it('draws the cohort anew for every version', () => {
    const devices = ids(20_000);
    const cohort = (v: string) => new Set(devices.filter((id) => eligible(id, { version: v, rollout_percent: 10 })));
    const a = cohort('1.0.3');
    const b = cohort('1.0.4');
    const both = [...a].filter((id) => b.has(id)).length;
    // Independent 10 % cohorts overlap in about 1 % of devices, not 10 %.
    assert.ok(both / devices.length < 0.02, `overlap ${both}`);
    assert.notDeepEqual([...a].slice(0, 50), [...b].slice(0, 50));
  });
});

/** The rule before issue 15: being below the floor blocked checkin, whatever the manifest offered. */
function oldChoose<R extends { version: string; rollout_percent: number }>(input: {
  releases: readonly R[];
  current: string;
  floor: string | null;
  deviceId: string;
}) {
  const c = choose(input);
  const forced = input.releases
    .filter((r) => input.floor !== null && compareVersions(r.version, input.floor) >= 0 && r.rollout_percent > 0)
    .sort((a, b) => compareVersions(b.version, a.version))[0];
  const target =
    c.belowFloor && (c.target === null || compareVersions(c.target.version, input.floor!) < 0)
      ? (forced ?? null)
      : c.target;
  return { ...c, target, blocked: c.belowFloor, unsupported: null };
}
