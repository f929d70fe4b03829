import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSignedManifest, nextSequence } from '../../../pipeline/manifests/build.js';
import { effectiveFloor, manifestReleases } from '../../../schema/channel.js';
import { canonicalize } from '../../../schema/canonical.js';
import { MANIFEST_DEFAULTS } from '../../../schema/types.js';
import { validateManifest } from '../../../schema/validators.js';
import { newKey, release, signedManifestText } from '../../support/manifests.js';

const policy = { manifest: MANIFEST_DEFAULTS };
const now = new Date('2026-11-27T02:00:00.789Z');

describe('manifest builder', () => {
  it('gives identical bytes for identical input', () => {
    const key = newKey();
    const rs = [release('1.0.2'), release('1.0.3', { rollout_percent: 10 })];
    const a = signedManifestText({ releases: rs, keys: [key], now, previousSequence: 5 });
    const b = signedManifestText({ releases: [...rs].reverse(), keys: [key], now, previousSequence: 5 });
    assert.equal(a, b);
    assert.equal(validateManifest(JSON.parse(a)), true);
  });

  it('matches the contract example: times to the second, lifetime, floor, newest first', () => {
    const signed = buildSignedManifest({
      channel: 'stable',
      releases: [
        release('1.0.2', { min_required_version: '1.0.2' }),
        release('1.0.3', { rollout_percent: 10 }),
        release('1.0.1'),
      ],
      policy,
      now,
      previousSequence: null,
    });
    assert.equal(signed.published_at, '2026-11-27T02:00:00Z');
    assert.equal(signed.expires_at, '2026-12-11T02:00:00Z');
    assert.equal(signed.sequence, Math.floor(now.getTime() / 1000));
    assert.equal(signed.min_required_version, '1.0.2');
    // Ends at the newest release at 100 %: 1.0.1 is never needed.
    assert.deepEqual(
      signed.releases.map((r) => r.version),
      ['1.0.3', '1.0.2'],
    );
    assert.ok(canonicalize(signed).startsWith('{"channel":"stable","expires_at"'));
  });

  it('leaves out yanked releases and other channels, but offers stable releases on beta', () => {
    const rs = [
      release('1.0.2'),
      release('1.0.3', { active: false }),
      release('1.1.0', { channel: 'beta', rollout_percent: 50 }),
    ];
    assert.deepEqual(
      manifestReleases('stable', rs, 20).map((r) => r.version),
      ['1.0.2'],
    );
    assert.deepEqual(
      manifestReleases('beta', rs, 20).map((r) => r.version),
      ['1.1.0', '1.0.2'],
    );
  });

  it('lists at most max releases', () => {
    const rs = Array.from({ length: 30 }, (_, i) => release(`1.0.${i}`, { rollout_percent: 50 }));
    assert.equal(manifestReleases('stable', rs, 20).length, 20);
  });

  it('takes the floor from active releases only', () => {
    const rs = [
      release('1.0.2', { min_required_version: '1.0.1' }),
      release('1.0.3', { min_required_version: '1.0.3', active: false }),
    ];
    assert.equal(effectiveFloor('stable', rs), '1.0.1');
    assert.equal(effectiveFloor('stable', []), null);
  });

  it('takes the highest floor of several active releases, whatever their order', () => {
    const rs = [
      release('1.0.2', { min_required_version: '1.0.1' }),
      release('1.0.4', { min_required_version: '1.0.3' }),
      release('1.0.3', { min_required_version: '1.0.2' }),
    ];
    assert.equal(effectiveFloor('stable', rs), '1.0.3');
    assert.equal(effectiveFloor('stable', [...rs].reverse()), '1.0.3');
  });

  it('raises the sequence past the previous one even when the clock is behind', () => {
    const t = Math.floor(now.getTime() / 1000);
    assert.equal(nextSequence(now, null), t);
    assert.equal(nextSequence(now, t - 100), t);
    assert.equal(nextSequence(now, t + 100), t + 101);
  });
});
