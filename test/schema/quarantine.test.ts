import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choose } from '../../schema/choose.js';
import { choose2, type ManifestLike, type ReleaseLike } from '../../schema/choose2.js';
import { withoutQuarantined } from '../../schema/quarantine.js';

type R2 = ReleaseLike<{ arch: 'universal' }>;
const rel2 = (version: string): R2 => ({
  version,
  artifacts: [{ arch: 'universal' }],
  requires: { macos_min: null, macos_max: null },
  rollout: [{ at: null, percent: 100 }],
});
const manifest2 = (releases: R2[]): ManifestLike<R2> => ({
  published_at: '2026-12-04T10:00:00Z',
  expires_at: '2026-12-18T10:00:00Z',
  min_required_version: null,
  releases,
  rings: {},
  ring_salt: 'a1b2c3',
  rescue_from: [],
});
const facts = {
  deviceId: 'mac-1',
  current: '1.0.3',
  macos: '14.6',
  hwArch: 'arm64' as const,
  clock: Date.parse('2026-12-05T10:00:00Z'),
};
const rel1 = (version: string) => ({ version, rollout_percent: 100 });

describe('a version rolled back on this Mac (quarantined)', () => {
  it('is never offered again by choose (spec 1), a newer one is', () => {
    const q = ['1.0.4'];
    assert.equal(
      choose({ releases: withoutQuarantined([rel1('1.0.4')], q), current: '1.0.3', floor: null, deviceId: 'm' }).target,
      null,
    );
    const both = withoutQuarantined([rel1('1.0.5'), rel1('1.0.4')], q);
    assert.equal(choose({ releases: both, current: '1.0.3', floor: null, deviceId: 'm' }).target?.version, '1.0.5');
    // the guard alone: without it 1.0.4 would be offered
    assert.equal(
      choose({ releases: [rel1('1.0.4')], current: '1.0.3', floor: null, deviceId: 'm' }).target?.version,
      '1.0.4',
    );
  });

  it('is never offered again by choose2 (spec 2), a newer one is', () => {
    const q = ['1.0.4'];
    const only = manifest2([rel2('1.0.4')]);
    assert.equal(choose2({ ...only, releases: withoutQuarantined(only.releases, q) }, facts).target, null);
    const both = manifest2([rel2('1.0.5'), rel2('1.0.4')]);
    assert.equal(
      choose2({ ...both, releases: withoutQuarantined(both.releases, q) }, facts).target?.release.version,
      '1.0.5',
    );
    assert.equal(choose2(only, facts).target?.release.version, '1.0.4');
  });
});
