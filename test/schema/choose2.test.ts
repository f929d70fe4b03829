import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { artifactFor, choose2, ringHash, type DeviceFacts } from '../../schema/choose2.js';
import { macosWithin } from '../../schema/macos.js';
import { compareVersions } from '../../schema/version.js';
import { EXPIRES, manifest, NOW, PUBLISHED, rel, SALT, type Arch, type R } from './choose2-fixtures.js';

function mac(over: Partial<DeviceFacts> = {}): DeviceFacts {
  return { deviceId: 'mac-1', current: '1.0.0', macos: '14.6', hwArch: 'arm64', clock: NOW, ...over };
}

describe('choose v2: the artifact for the hardware', () => {
  const cases: [Arch[], 'arm64' | 'x86_64', Arch | null][] = [
    [['arm64', 'x86_64', 'universal'], 'arm64', 'arm64'],
    [['arm64', 'x86_64', 'universal'], 'x86_64', 'x86_64'],
    [['universal', 'x86_64'], 'arm64', 'universal'],
    [['x86_64'], 'arm64', 'x86_64'], // Rosetta
    [['arm64'], 'x86_64', null], // an Intel Mac never takes an arm64 build (electron-builder #5616)
    [['universal'], 'x86_64', 'universal'],
  ];
  for (const [arches, hw, want] of cases) {
    it(`${hw} hardware with ${arches.join('+')} takes ${want ?? 'nothing'}`, () => {
      const got = artifactFor(
        arches.map((arch) => ({ arch })),
        hw,
      );
      assert.equal(got?.arch ?? null, want);
      const c = choose2(manifest([rel('1.1.0', { artifacts: arches.map((arch) => ({ arch })) })]), mac({ hwArch: hw }));
      assert.equal(c.target?.artifact.arch ?? null, want);
    });
  }
});

describe('choose v2: macOS requirements and the lockout-proof floor', () => {
  const r13 = rel('1.1.0', { requires: { macos_min: '13.0', macos_max: null } });
  it('a Mac outside requires is not offered the release', () => {
    assert.equal(choose2(manifest([r13]), mac({ macos: '12.7.6' })).target, null);
    assert.equal(choose2(manifest([r13]), mac({ macos: '13.0' })).target?.release.version, '1.1.0');
  });

  it('a floor it can satisfy forces the update (any cohort) and blocks checkin', () => {
    const paused10 = rel('1.1.0', { rollout: [{ at: null, percent: 1 }] });
    for (let i = 0; i < 50; i++) {
      const c = choose2(manifest([paused10], { min_required_version: '1.1.0' }), mac({ deviceId: `d${i}` }));
      assert.equal(c.target?.release.version, '1.1.0');
      assert.equal(c.blocked, true);
    }
  });

  it('a floor that needs a newer macOS makes the Mac unsupported: a warning, never a block', () => {
    const c = choose2(
      manifest([r13, rel('1.0.5')], { min_required_version: '1.1.0' }),
      mac({ macos: '12.7.6', current: '1.0.0' }),
    );
    assert.equal(c.blocked, false);
    assert.match(c.unsupported!, /needs another macOS than 12\.7\.6/);
    // ... and it still takes the newest release it can run
    assert.equal(c.target?.release.version, '1.0.5');
  });

  it('a floor on an arm64-only build makes an Intel Mac unsupported, not blocked', () => {
    const arm = rel('2.0', { artifacts: [{ arch: 'arm64' }] });
    const c = choose2(manifest([arm], { min_required_version: '2.0' }), mac({ hwArch: 'x86_64' }));
    assert.deepEqual([c.blocked, c.target], [false, null]);
    assert.match(c.unsupported!, /no release at or above the floor 2\.0 has a package for x86_64/);
  });

  it('a paused release is never forced; a scheduled one not yet started is', () => {
    const paused = rel('1.1.0', { rollout: [{ at: null, percent: 0 }] });
    const c = choose2(manifest([paused], { min_required_version: '1.1.0' }), mac());
    assert.deepEqual([c.blocked, c.target], [false, null]);
    assert.match(c.unsupported!, /paused/);
    const later = rel('1.1.0', {
      rollout: [
        { at: null, percent: 0 },
        { at: '2026-12-20T00:00:00Z', percent: 100 },
      ],
    });
    const s = choose2(manifest([later], { min_required_version: '1.1.0' }), mac());
    assert.deepEqual([s.blocked, s.target?.via], [true, 'floor']);
  });
});

describe('choose v2: rings, rescue and time', () => {
  it('a ring member takes the release at share 0 of the schedule; others do not', () => {
    const r = rel('1.1.0', {
      rings: ['canary'],
      rollout: [
        { at: null, percent: 0 },
        { at: '2026-12-30T00:00:00Z', percent: 100 },
      ],
    });
    const m = manifest([r], { rings: { canary: [ringHash(SALT, 'mac-canary')] } });
    assert.equal(choose2(m, mac({ deviceId: 'mac-canary' })).target?.via, 'ring');
    assert.equal(choose2(m, mac({ deviceId: 'mac-other' })).target, null);
  });

  it('a halted release never reaches a ring (halted releases are not listed; a share of 0 holds)', () => {
    const r = rel('1.1.0', { rings: ['canary'], rollout: [{ at: null, percent: 0 }] });
    const m = manifest([r], { rings: { canary: [ringHash(SALT, 'mac-canary')] } });
    assert.equal(choose2(m, mac({ deviceId: 'mac-canary' })).target, null);
  });

  it('the hotfix reaches every Mac on a bad 10 % build, not only its own 10 % cohort', () => {
    const m = manifest(
      [rel('1.0.4', { rollout: [{ at: null, percent: 10 }] }), rel('1.0.2')],
      { rescue_from: ['1.0.3'] }, // 1.0.3 was halted
    );
    for (let i = 0; i < 500; i++) {
      const c = choose2(m, mac({ deviceId: `d${i}`, current: '1.0.3' }));
      assert.equal(c.target?.release.version, '1.0.4', `d${i}`);
    }
    // a Mac on 1.0.2 only takes 1.0.4 in its cohort
    const taken = Array.from({ length: 2000 }, (_, i) =>
      choose2(m, mac({ deviceId: `d${i}`, current: '1.0.2' })),
    ).filter((c) => c.target !== null).length;
    assert.ok(taken > 100 && taken < 300, String(taken));
  });

  it('a Mac on an unfinished rollout is rescued too (1.0.3 still listed at 10 %)', () => {
    const m = manifest([
      rel('1.0.4', { rollout: [{ at: null, percent: 10 }] }),
      rel('1.0.3', { rollout: [{ at: null, percent: 10 }] }),
      rel('1.0.2'),
    ]);
    for (let i = 0; i < 200; i++)
      assert.equal(choose2(m, mac({ deviceId: `d${i}`, current: '1.0.3' })).target?.release.version, '1.0.4');
  });

  it('a clock far ahead cannot run the ramp past expires_at; a clock behind counts as published_at', () => {
    const r = rel('1.1.0', {
      rollout: [
        { at: null, percent: 0 },
        { at: '2027-01-01T00:00:00Z', percent: 100 },
      ],
    });
    const ahead = choose2(manifest([r]), mac({ clock: Date.parse('2030-01-01T00:00:00Z') }));
    assert.equal(ahead.target, null);
    assert.equal(ahead.t, Date.parse(EXPIRES));
    const behind = choose2(manifest([rel('1.1.0')]), mac({ clock: 0 }));
    assert.equal(behind.t, Date.parse(PUBLISHED));
  });
});

describe('choose v2: properties over random manifests and Macs', () => {
  const version = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
  const macos = fc.constantFrom('11.0', '12.7.6', '13.0', '13.6.1', '14.0', '15.7', '26.1');
  const arches = fc.uniqueArray(fc.constantFrom<Arch>('universal', 'arm64', 'x86_64'), { minLength: 1, maxLength: 3 });
  const release = fc.record({
    version,
    artifacts: arches.map((as) => as.map((arch) => ({ arch }))),
    requires: fc.record({ macos_min: fc.option(macos, { nil: null }), macos_max: fc.option(macos, { nil: null }) }),
    rollout: fc.oneof(
      fc.integer({ min: 0, max: 100 }).map((percent) => [{ at: null, percent }]),
      fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: -48, max: 400 })).map(([p, h]) => [
        { at: null, percent: 0 },
        { at: new Date(NOW + h * 3_600_000).toISOString().replace('.000Z', 'Z'), percent: p },
        { at: new Date(NOW + (h + 24) * 3_600_000).toISOString().replace('.000Z', 'Z'), percent: 100 },
      ]),
    ),
    rings: fc.constantFrom([], ['canary']),
  });
  const world = fc.record({
    releases: fc.uniqueArray(release, { maxLength: 6, selector: (r) => r.version.replace(/(\.0)+$/, '') }),
    floor: fc.option(version, { nil: null }),
    rescue: fc.array(version, { maxLength: 2 }),
    device: fc.record({
      deviceId: fc.string({ maxLength: 8 }),
      current: version,
      macos,
      hwArch: fc.constantFrom<'arm64' | 'x86_64'>('arm64', 'x86_64'),
      clock: fc.integer({ min: NOW - 5 * 86_400_000, max: NOW + 400 * 86_400_000 }),
    }),
    canary: fc.boolean(),
  });
  type World = typeof world extends fc.Arbitrary<infer T> ? T : never;
  const build = (w: World) => {
    const m = manifest(w.releases as R[], {
      min_required_version: w.floor,
      rescue_from: w.rescue,
      rings: { canary: w.canary ? [ringHash(SALT, w.device.deviceId)] : [] },
    });
    return { m, c: choose2(m, w.device) };
  };

  it('never offers a version at or below the current one, nor one the Mac cannot run', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c } = build(w);
        if (c.target === null) return;
        assert.ok(compareVersions(c.target.release.version, w.device.current) > 0);
        assert.ok(macosWithin(w.device.macos, c.target.release.requires));
        assert.equal(c.target.artifact, artifactFor(c.target.release.artifacts, w.device.hwArch));
      }),
      { numRuns: 3000 },
    );
  });

  it('checkin blocked ⇒ an installable release satisfying the floor is the target (lockout-proof)', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c } = build(w);
        if (!c.blocked) return;
        assert.ok(c.target !== null && w.floor !== null);
        assert.ok(compareVersions(c.target.release.version, w.floor) >= 0);
        assert.ok(macosWithin(w.device.macos, c.target.release.requires));
        assert.equal(c.unsupported, null);
      }),
      { numRuns: 3000 },
    );
  });

  it('below a floor a Mac is either blocked with a target or unsupported with a reason, never both', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c } = build(w);
        const below = w.floor !== null && compareVersions(w.device.current, w.floor) < 0;
        assert.equal(c.blocked || c.unsupported !== null, below);
        assert.ok(!(c.blocked && c.unsupported !== null));
      }),
      { numRuns: 3000 },
    );
  });

  it('a Mac on a yanked or halted version is offered the newest newer release it can run with a share', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { m, c } = build({ ...w, rescue: [w.device.current], floor: null });
        const t = c.t;
        const offerable = m.releases.filter(
          (r) =>
            compareVersions(r.version, w.device.current) > 0 &&
            macosWithin(w.device.macos, r.requires) &&
            artifactFor(r.artifacts, w.device.hwArch) !== null &&
            (r.rollout.filter((s) => s.at === null || Date.parse(s.at) <= t).at(-1)!.percent > 0 ||
              (w.canary && (r.rings ?? []).includes('canary') && r.rollout.some((s) => s.percent > 0))),
        );
        const best = offerable.sort((a, b) => compareVersions(b.version, a.version))[0];
        assert.equal(c.target?.release.version, best?.version);
      }),
      { numRuns: 2000 },
    );
  });
});
