/**
 * choose v2 over the whole matrix a fleet has: macOS × hardware (as sysctl prints it, Rosetta
 * included) × the artifacts a release ships × a floor; then properties over random manifests:
 * the rescue of a Mac on an unfinished rollout, and the realised share over 100,000 device ids.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bucket } from '../../schema/choose.js';
import { artifactFor, choose2, type DeviceFacts, type ManifestLike } from '../../schema/choose2.js';
import { hardwareFromSysctl, type CommandResult } from '../../schema/device-facts.js';
import { macosWithin } from '../../schema/macos.js';
import { shareAt } from '../../schema/rollout.js';
import { compareVersions } from '../../schema/version.js';
import { manifest, NOW, rel, type Arch, type R } from './choose2-fixtures.js';

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout: `${stdout}\n`, stderr: '' });
const absent = (key: string): CommandResult => ({ exitCode: 1, stdout: '', stderr: `sysctl: unknown oid '${key}'\n` });

/** The three kinds of Mac, as sysctl answers on each: [hw.optional.arm64, sysctl.proc_translated]. */
const HARDWARE = {
  intel: [absent('hw.optional.arm64'), absent('sysctl.proc_translated')],
  'apple silicon': [ok('1'), ok('0')],
  'apple silicon, x86_64 agent under Rosetta': [ok('1'), ok('1')],
} as const;
type Hw = keyof typeof HARDWARE;

/** The artifact each kind of Mac takes from each set (the rule, written out): '-' none. */
const TAKES: Record<string, Record<Hw, Arch | '-'>> = {
  universal: {
    intel: 'universal',
    'apple silicon': 'universal',
    'apple silicon, x86_64 agent under Rosetta': 'universal',
  },
  arm64: { intel: '-', 'apple silicon': 'arm64', 'apple silicon, x86_64 agent under Rosetta': 'arm64' },
  x86_64: { intel: 'x86_64', 'apple silicon': 'x86_64', 'apple silicon, x86_64 agent under Rosetta': 'x86_64' },
  'arm64+x86_64': { intel: 'x86_64', 'apple silicon': 'arm64', 'apple silicon, x86_64 agent under Rosetta': 'arm64' },
  'arm64+x86_64+universal': {
    intel: 'x86_64',
    'apple silicon': 'arm64',
    'apple silicon, x86_64 agent under Rosetta': 'arm64',
  },
  'x86_64+universal': {
    intel: 'x86_64',
    'apple silicon': 'universal',
    'apple silicon, x86_64 agent under Rosetta': 'universal',
  },
};

describe('choose v2: macOS × hardware × Rosetta × artifacts × floor', () => {
  // 1.1.0 needs macOS 13 and ships the artifacts of the row at 10 %; 1.0.5 runs everywhere at 100 %.
  const newRelease = (arts: string) =>
    rel('1.1.0', {
      artifacts: arts.split('+').map((arch) => ({ arch: arch as Arch })),
      requires: { macos_min: '13.0', macos_max: null },
      rollout: [{ at: null, percent: 10 }],
    });
  const inCohort = Array.from({ length: 100 }, (_, i) => `mac-${i}`).find((id) => bucket(id, '1.1.0') < 10)!;
  const outside = Array.from({ length: 100 }, (_, i) => `mac-${i}`).find((id) => bucket(id, '1.1.0') >= 10)!;

  for (const macos of ['12.7.6', '13.0', '15.1'])
    for (const hw of Object.keys(HARDWARE) as Hw[])
      for (const arts of Object.keys(TAKES))
        for (const floor of [null, '1.1.0'])
          it(`macOS ${macos}, ${hw}, ${arts}, floor ${floor ?? 'none'}`, () => {
            const [arm64, translated] = HARDWARE[hw];
            const { hwArch } = hardwareFromSysctl('sysctl', arm64, translated);
            const m = manifest([newRelease(arts), rel('1.0.5')], { min_required_version: floor });
            const takes = TAKES[arts]![hw];
            const runs = macos !== '12.7.6' && takes !== '-';
            for (const deviceId of [inCohort, outside]) {
              const c = choose2(m, { deviceId, current: '1.0.0', macos, hwArch, clock: NOW });
              const gets11 = runs && (floor !== null || deviceId === inCohort);
              assert.equal(c.target?.release.version, gets11 ? '1.1.0' : '1.0.5', deviceId);
              assert.equal(c.target?.artifact.arch, gets11 ? takes : 'universal');
              assert.equal(c.target?.via, gets11 ? (deviceId === inCohort ? 'cohort' : 'floor') : 'cohort');
              // Below a floor it can reach: blocked; one it cannot: unsupported, never blocked.
              assert.equal(c.blocked, floor !== null && runs);
              assert.equal(c.unsupported !== null, floor !== null && !runs);
            }
          });
});

describe('choose v2: properties of rescue and share', () => {
  const version = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
  const macos = fc.constantFrom('12.7.6', '13.0', '14.6', '26.1');
  const step = (h: number) => new Date(NOW + h * 3_600_000).toISOString().replace('.000Z', 'Z');
  const rollout = fc.oneof(
    fc.integer({ min: 0, max: 100 }).map((percent) => [{ at: null, percent }]),
    fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: -48, max: 48 })).map(([p, h]) => [
      { at: null, percent: 0 },
      { at: step(h), percent: p },
      { at: step(h + 24), percent: 100 },
    ]),
  );
  const release = fc.record({
    version,
    artifacts: fc
      .uniqueArray(fc.constantFrom<Arch>('universal', 'arm64', 'x86_64'), { minLength: 1, maxLength: 3 })
      .map((as) => as.map((arch) => ({ arch }))),
    requires: fc.record({ macos_min: fc.option(macos, { nil: null }), macos_max: fc.constant(null) }),
    rollout,
  });
  const device = fc.record({
    deviceId: fc.string({ minLength: 1, maxLength: 10 }),
    current: version,
    macos,
    hwArch: fc.constantFrom<'arm64' | 'x86_64'>('arm64', 'x86_64'),
    clock: fc.integer({ min: NOW - 86_400_000, max: NOW + 5 * 86_400_000 }),
  });
  const norm = (v: string) => v.replace(/(\.0)+$/, '');

  /** Every newer release this Mac can run whose share is above 0 at the evaluated time, newest first. */
  function offerable(m: ManifestLike<R>, d: DeviceFacts, t: number): R[] {
    return m.releases
      .filter(
        (r) =>
          compareVersions(r.version, d.current) > 0 &&
          macosWithin(d.macos, r.requires) &&
          artifactFor(r.artifacts, d.hwArch) !== null &&
          shareAt(r.rollout, t) > 0,
      )
      .sort((a, b) => compareVersions(b.version, a.version));
  }

  it('a Mac on an unfinished rollout is offered the newest newer release with a share, whatever its cohort', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(release, { maxLength: 5, selector: (r) => norm(r.version) }),
        device,
        fc.integer({ min: 0, max: 99 }),
        (others, d, percent) => {
          // The Mac's own version is listed with a share below 100: its rollout is not finished.
          const own = rel(d.current, { rollout: [{ at: null, percent }] });
          const releases = [own, ...others.filter((r) => norm(r.version) !== norm(d.current))] as R[];
          const m = manifest(releases.sort((a, b) => compareVersions(b.version, a.version)));
          const c = choose2(m, d);
          assert.equal(c.target?.release.version, offerable(m, d, c.t)[0]?.version);
          if (c.target !== null) assert.ok(c.target.via === 'cohort' || c.target.via === 'rescue');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a Mac on a finished rollout (100 %) is not rescued: only its cohort takes a staged release', () => {
    const m = manifest([rel('1.0.4', { rollout: [{ at: null, percent: 10 }] }), rel('1.0.3')]);
    const taken = Array.from({ length: 5000 }, (_, i) =>
      choose2(m, { deviceId: `d${i}`, current: '1.0.3', macos: '14.6', hwArch: 'arm64', clock: NOW }),
    ).filter((c) => c.target !== null).length;
    assert.ok(taken > 400 && taken < 600, String(taken));
  });

  it('the realised share is within ±1 % of each rollout share over 100,000 device ids', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `C02${i.toString(36).toUpperCase().padStart(8, '0')}`);
    // A fixed share, and a schedule at its 25 % step at the evaluated time.
    const cases: [string, R][] = [
      ...[1, 10, 50, 99].map((p): [string, R] => [`${p} %`, rel('1.0.4', { rollout: [{ at: null, percent: p }] })]),
      [
        '25 % (step 2 of a schedule)',
        rel('1.0.4', {
          rollout: [
            { at: null, percent: 0 },
            { at: '2026-12-04T12:00:00Z', percent: 25 },
            { at: '2026-12-09T12:00:00Z', percent: 100 },
          ],
        }),
      ],
    ];
    for (const [name, r] of cases) {
      const m = manifest([r, rel('1.0.3')]);
      let taken = 0;
      for (const deviceId of ids)
        if (choose2(m, { deviceId, current: '1.0.3', macos: '14.6', hwArch: 'x86_64', clock: NOW }).target) taken++;
      const want = shareAt(r.rollout, NOW);
      assert.ok(Math.abs((taken / ids.length) * 100 - want) <= 1, `${name}: ${taken} of ${ids.length}`);
    }
  });
});
