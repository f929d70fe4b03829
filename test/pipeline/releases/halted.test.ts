import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRelease } from '../../../pipeline/releases/release-file.js';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import { computePlan } from '../../../pipeline/table/plan.js';
import { renderPlanText } from '../../../pipeline/table/plan-render.js';
import { rowOf } from '../../../pipeline/table/release-row.js';
import { tableDrift } from '../../../pipeline/drift/check.js';
import { MANIFEST_DEFAULTS } from '../../../schema/types.js';
import type { LoadedRelease } from '../../../pipeline/releases/release-set.js';

const BASE = `version: "1.0.4"
download_url: https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg
sha256: ${'b'.repeat(64)}
size: 2000
`;
const HALTED = `${BASE}halted:\n  reason: "crashes on launch"\n  at: "2026-12-04T17:40:00Z"\n`;

function parse(text: string, version = '1.0.4') {
  return parseRelease(`releases/${version}.yaml`, `${version}.yaml`, Buffer.from(text), null, Date.now());
}

function load(text: string, version = '1.0.4'): LoadedRelease {
  const r = parse(text, version);
  assert.deepEqual(r.problems, []);
  return r.loaded!;
}

describe('halted: {reason, at} in a release file', () => {
  it('makes the release offered to nobody, like active: false, and keeps why and when', () => {
    const l = load(HALTED);
    assert.equal(l.release.active, false);
    assert.deepEqual(l.release.halted, { reason: 'crashes on launch', at: '2026-12-04T17:40:00Z' });
    const older = load(BASE.replace(/1\.0\.4/g, '1.0.3').replace('b'.repeat(64), 'c'.repeat(64)), '1.0.3');
    for (const channel of ['stable', 'beta']) {
      const m = buildSignedManifest({
        channel,
        releases: [l.release, older.release],
        policy: { manifest: MANIFEST_DEFAULTS },
        now: new Date('2026-12-04T18:00:00Z'),
        previousSequence: null,
      });
      assert.deepEqual(
        m.releases.map((r) => r.version),
        ['1.0.3'],
      );
    }
    // The table shows it as not offered: active false, yanked.
    assert.deepEqual([rowOf(l.release).active, rowOf(l.release).yanked], [false, true]);
  });

  for (const [what, text, pattern] of [
    ['without at', `${BASE}halted:\n  reason: "x"\n`, /halted/],
    ['with an empty reason', `${BASE}halted:\n  reason: ""\n  at: "2026-12-04T17:40:00Z"\n`, /halted/],
    ['with a local time', `${BASE}halted:\n  reason: "x"\n  at: "2026-12-04 17:40"\n`, /halted/],
    ['with an unknown key', `${BASE}halted:\n  reason: "x"\n  at: "2026-12-04T17:40:00Z"\n  by: me\n`, /halted/],
  ] as const) {
    it(`is refused ${what}, at the halted line`, () => {
      const r = parse(text);
      assert.equal(r.loaded, null);
      assert.deepEqual(
        r.problems.map((p) => [p.code, p.line]),
        [['RELEASE_BAD_HALTED', 5]], // the line of "halted:"
      );
      assert.match(r.problems[0]!.message, pattern);
    });
  }

  it('is called out by the plan as a load event, and drift says the file says halted', () => {
    const live = load(BASE);
    const halted = load(HALTED);
    const plan = computePlan({ releases: [halted], rows: [{ ...rowOf(live.release), synced_at: new Date(0) }] });
    assert.deepEqual(
      plan.yanks.map((y) => [y.version, y.reason]),
      [['1.0.4', 'file-says-halted']],
    );
    assert.equal(plan.warnings[0]?.code, 'RELEASE_HALTED');
    assert.match(plan.warnings[0]!.message, /1\.0\.4 is halted \("crashes on launch", at 2026-12-04T17:40:00Z\)/);
    assert.match(renderPlanText(plan), /RELEASE_HALTED/);
    assert.match(tableDrift(plan).find((f) => f.code === 'TABLE_ROW_NOT_YANKED')!.message, /its file says halted/);
  });
});
