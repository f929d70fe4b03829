import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import {
  classifyOfferChange,
  isSafetyChange,
  offerLines,
  type OfferChange,
} from '../../../pipeline/manifests/offer-change.js';
import { MANIFEST_DEFAULTS, type Release, type SignedManifest } from '../../../schema/types.js';
import { release } from '../../support/manifests.js';

const now = new Date('2026-11-27T02:00:00Z');
const m = (releases: Release[], channel = 'stable'): SignedManifest =>
  buildSignedManifest({ channel, releases, policy: { manifest: MANIFEST_DEFAULTS }, now, previousSequence: null });
const classify = (before: Release[], after: Release[]) => classifyOfferChange(m(before), m(after));

const base = [release('1.0.2'), release('1.0.3', { rollout_percent: 100 }), release('1.0.4', { rollout_percent: 20 })];
const edit = (v: string, patch: Partial<Release>) => base.map((r) => (r.version === v ? { ...r, ...patch } : r));

describe('what a change does to a channel offer', () => {
  it('a yank of a partial release offers less', () => {
    const c = classify(base, edit('1.0.4', { active: false }));
    assert.equal(c.effect, 'less');
    assert.deepEqual(c.less, ['1.0.4 removed (was offered to 20%)']);
    assert.deepEqual(c.more, []);
  });

  it('a yank of the newest full release lists the one below it again: still less', () => {
    const before = [release('1.0.2'), release('1.0.3')];
    const c = classify(before, [release('1.0.2'), release('1.0.3', { active: false })]);
    assert.equal(c.effect, 'less');
    assert.deepEqual(c.less, [
      '1.0.3 removed (was offered to 100%)',
      '1.0.2 listed again at 100% (older than 1.0.3, which no longer ends the list)',
    ]);
  });

  it('a lowered share and a pause offer less; a raised share offers more', () => {
    assert.deepEqual(classify(base, edit('1.0.4', { rollout_percent: 5 })).less, ['1.0.4 share lowered 20% -> 5%']);
    assert.deepEqual(classify(base, edit('1.0.4', { rollout_percent: 0 })).less, ['1.0.4 paused (20% -> 0%)']);
    const up = classify(base, edit('1.0.4', { rollout_percent: 50 }));
    assert.equal(up.effect, 'more');
    assert.deepEqual(up.more, ['1.0.4 share raised 20% -> 50%']);
  });

  it('lowering the share of the release that ended the list relists older ones: less', () => {
    const c = classify(base, edit('1.0.3', { rollout_percent: 50 }));
    assert.equal(c.effect, 'less');
    assert.equal(c.less.length, 2);
    assert.match(c.less[1] ?? '', /^1\.0\.2 listed again/);
  });

  it('a floor removed or lowered offers less; added or raised offers more', () => {
    const floored = edit('1.0.3', { min_required_version: '1.0.3' });
    assert.deepEqual(classify(floored, base).less, ['floor 1.0.3 removed']);
    assert.deepEqual(classify(floored, edit('1.0.3', { min_required_version: '1.0.2' })).less, [
      'floor lowered 1.0.3 -> 1.0.2',
    ]);
    assert.equal(classify(base, floored).effect, 'more');
    assert.equal(classify(edit('1.0.3', { min_required_version: '1.0.2' }), floored).effect, 'more');
  });

  it('a new release offers more, even older than the newest; with a yank it is mixed', () => {
    const added = [...base, release('1.0.5', { rollout_percent: 10 })];
    assert.deepEqual(classify(base, added).more, ['1.0.5 added at 10%']);
    const mixed = classify(base, [...edit('1.0.4', { active: false }), release('1.0.5', { rollout_percent: 10 })]);
    assert.equal(mixed.effect, 'mixed');
    // a list that did not end at 100 % cut nothing off: a release below it is new
    const partial = [release('1.0.4', { rollout_percent: 20 })];
    assert.equal(classify(partial, [...partial, release('1.0.1')]).effect, 'more');
  });

  it('another package for a listed version offers more; changed notes change nothing', () => {
    assert.equal(classify(base, edit('1.0.4', { sha256: 'f'.repeat(64) })).effect, 'more');
    assert.equal(classify(base, edit('1.0.4', { release_notes: 'now with notes' })).effect, 'same');
  });

  it('nothing usable published: anything offered is more, an empty manifest the same', () => {
    assert.equal(classifyOfferChange(null, m(base)).effect, 'more');
    assert.equal(classifyOfferChange(null, m([])).effect, 'same');
  });

  it('a safety change: some channel offers less, none offers more', () => {
    const c = (effect: OfferChange['effect'], channel = 'stable'): OfferChange => ({
      channel,
      effect,
      less: [],
      more: [],
    });
    assert.equal(isSafetyChange([c('less'), c('same', 'beta')]), true);
    assert.equal(isSafetyChange([c('less'), c('less', 'beta')]), true);
    assert.equal(isSafetyChange([c('same'), c('same', 'beta')]), false);
    assert.equal(isSafetyChange([c('less'), c('more', 'beta')]), false);
    assert.equal(isSafetyChange([c('mixed')]), false);
    assert.deepEqual(offerLines([classify(base, edit('1.0.4', { active: false })), c('same', 'beta')]), [
      'stable offers less: 1.0.4 removed (was offered to 20%)',
    ]);
  });
});
