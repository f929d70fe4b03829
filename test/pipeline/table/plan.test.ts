import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computePlan, isNoop, blockingProblems, changesNoRelease, type Plan } from '../../../pipeline/table/plan.js';
import { renderPlanMarkdown, renderPlanText } from '../../../pipeline/table/plan-render.js';
import { rowOf } from '../../../pipeline/table/release-row.js';
import type { ReleaseRow } from '../../../pipeline/table/db/rows.js';
import { loaded } from '../../support/releases.js';
import type { LoadedRelease } from '../../../pipeline/releases/release-set.js';

/** The row sync would have written for a release (what the table holds after a sync). */
function synced(l: LoadedRelease, over: Partial<ReleaseRow> = {}): ReleaseRow {
  return { ...rowOf(l.release), synced_at: new Date(0), ...over };
}

function raw(version: string, over: Partial<ReleaseRow> = {}): ReleaseRow {
  return { ...synced(loaded(version)), size: null, managed_by: null, synced_at: null, ...over };
}

const codes = (plan: Plan) => plan.warnings.map((w) => `${w.code}${w.channel ? `:${w.channel}` : ''}`).sort();

describe('computePlan', () => {
  it('is empty when the table already matches', () => {
    const files = [loaded('1.0.0'), loaded('1.1.0', { channel: 'beta' })];
    const plan = computePlan({ releases: files, rows: files.map((f) => synced(f)) });
    assert.equal(isNoop(plan), true);
    assert.equal(plan.unchanged, 2);
    assert.deepEqual(plan.warnings, []);
    assert.match(renderPlanText(plan), /no change \(2 unchanged\)/);
  });

  it('inserts new versions with the legacy active only for stable at 100 %', () => {
    const plan = computePlan({
      releases: [loaded('1.0.0'), loaded('1.1.0', { rollout_percent: 10 }), loaded('1.2.0', { channel: 'beta' })],
      rows: [],
    });
    assert.deepEqual(
      plan.inserts.map((i) => [i.version, i.row.active, i.row.yanked]),
      [
        ['1.2.0', false, false],
        ['1.1.0', false, false],
        ['1.0.0', true, false],
      ],
    );
    assert.deepEqual(plan.legacy, { before: null, after: { version: '1.0.0', min_required_version: null } });
  });

  it('lists each changed field old -> new', () => {
    const file = loaded('1.0.0', { release_notes: 'new notes', rollout_percent: 50 });
    const plan = computePlan({ releases: [file], rows: [synced(loaded('1.0.0'), { release_notes: 'old' })] });
    assert.deepEqual(plan.updates[0]?.changes, [
      { field: 'release_notes', from: 'old', to: 'new notes' },
      { field: 'active', from: true, to: false },
      { field: 'rollout_percent', from: 100, to: 50 },
    ]);
    assert.match(renderPlanText(plan), /rollout_percent: 100 -> 50/);
    assert.match(renderPlanMarkdown(plan), /rollout_percent: 100 -> 50/);
  });

  it('flags a changed download_url, sha256 or size at its line, and blocks', () => {
    const file = loaded('1.0.0', { sha256: 'f'.repeat(64), size: 5 });
    const plan = computePlan({ releases: [file], rows: [synced(loaded('1.0.0'))] });
    const problems = blockingProblems(plan);
    assert.deepEqual(
      problems.map((p) => [p.code, p.file, p.line]),
      [
        ['IMMUTABLE_FIELD_CHANGED', 'releases/1.0.0.yaml', 4],
        ['IMMUTABLE_FIELD_CHANGED', 'releases/1.0.0.yaml', 5],
      ],
    );
    assert.deepEqual(plan.updates, []);
    assert.match(renderPlanText(plan), /Sync will not run: 2 error\(s\)/);
  });

  it('warns about a new release below one its channel already offers to every device', () => {
    const have = [loaded('1.0.0'), loaded('1.0.3'), loaded('1.1.0', { rollout_percent: 10 })];
    const plan = computePlan({
      releases: [...have, loaded('1.0.1'), loaded('1.2.0', { channel: 'beta' })],
      rows: have.map((f) => synced(f)),
    });
    assert.deepEqual(plan.warnings, [
      {
        code: 'RELEASE_BELOW_OFFERED',
        channel: 'stable',
        message:
          '1.0.1 is below 1.0.3, which stable already offers to every device: no device will ever take 1.0.1 (agents never downgrade, and the manifest lists nothing older than its newest 100 % release); to ship it, release it as a version above 1.0.3',
      },
    ]);
    // A first sync of a whole history: the newer releases are new too, nothing to warn about.
    assert.deepEqual(computePlan({ releases: [...have, loaded('1.0.1')], rows: [] }).warnings, []);
  });

  it('reads a sha256 that differs only in case as the same hash, and writes it lowercase', () => {
    const file = loaded('1.0.0');
    const plan = computePlan({ releases: [file], rows: [synced(file, { sha256: file.release.sha256.toUpperCase() })] });
    assert.deepEqual(blockingProblems(plan), []);
    assert.deepEqual(plan.updates[0]?.changes, [
      { field: 'sha256', from: file.release.sha256.toUpperCase(), to: file.release.sha256 },
    ]);
    const changed = computePlan({ releases: [file], rows: [synced(file, { sha256: 'F'.repeat(64) })] });
    assert.deepEqual(
      blockingProblems(changed).map((p) => p.code),
      ['IMMUTABLE_FIELD_CHANGED'],
    );
  });

  it('fills in the size of a seed row without calling it a change of an immutable field', () => {
    const plan = computePlan({ releases: [loaded('1.0.0')], rows: [raw('1.0.0')] });
    assert.deepEqual(blockingProblems(plan), []);
    assert.deepEqual(
      plan.updates[0]?.changes.map((c) => c.field),
      ['size', 'managed_by'],
    );
    assert.deepEqual(plan.unmanaged, [{ version: '1.0.0', file: 'releases/1.0.0.yaml', action: 'adopt' }]);
    assert.equal(plan.updates[0]?.adopt, true);
    assert.equal(changesNoRelease(plan), true);
    assert.match(renderPlanText(plan), /adopt: mark as managed, record size 1005; nothing agents see changes/);
    const edited = computePlan({ releases: [loaded('1.0.0', { release_notes: 'new' })], rows: [raw('1.0.0')] });
    assert.equal(edited.updates[0]?.adopt, false);
    assert.equal(changesNoRelease(edited), false);
  });

  it('refuses unmanaged rows without a file, or yanks them when asked', () => {
    const rows = [synced(loaded('1.0.0')), raw('0.9.0')];
    const refused = computePlan({ releases: [loaded('1.0.0')], rows });
    assert.deepEqual(
      blockingProblems(refused).map((p) => [p.code, p.file]),
      [['UNMANAGED_ROW', 'releases/0.9.0.yaml']],
    );
    const yanked = computePlan({ releases: [loaded('1.0.0')], rows, yankUnmanaged: true });
    assert.deepEqual(blockingProblems(yanked), []);
    assert.deepEqual(
      yanked.yanks.map((y) => [y.version, y.reason, y.row.active, y.row.managed_by]),
      [['0.9.0', 'unmanaged-yanked', false, 'mngd-release']],
    );
  });

  it('refuses a version spelled differently from the same version in the table', () => {
    const plan = computePlan({ releases: [loaded('1.0.0')], rows: [synced(loaded('1.0'))] });
    assert.deepEqual(
      blockingProblems(plan).map((p) => p.code),
      ['VERSION_ALIAS'],
    );
    assert.deepEqual(plan.inserts, []);
  });

  it('warns loudly when a floor rises', () => {
    const plan = computePlan({
      releases: [loaded('1.0.0'), loaded('1.0.1', { min_required_version: '1.0.1' })],
      rows: [synced(loaded('1.0.0'))],
      channels: ['stable', 'beta'],
    });
    assert.deepEqual(codes(plan), ['FLOOR_RAISED:beta', 'FLOOR_RAISED:stable', 'LEGACY_FLOOR_RAISED']);
    assert.deepEqual(plan.floors, [
      { channel: 'stable', before: null, after: '1.0.1' },
      { channel: 'beta', before: null, after: '1.0.1' },
    ]);
    assert.match(renderPlanText(plan), /LOAD EVENT/);
    assert.match(renderPlanMarkdown(plan), /\[!WARNING\]/);
  });

  it('warns when the newest release of a channel is yanked, and when a channel is left empty', () => {
    const rows = [synced(loaded('1.0.0')), synced(loaded('1.0.1')), synced(loaded('2.0.0', { channel: 'beta' }))];
    const yankNewest = computePlan({
      releases: [loaded('1.0.0'), loaded('1.0.1', { active: false }), loaded('2.0.0', { channel: 'beta' })],
      rows,
    });
    assert.deepEqual(codes(yankNewest), ['LEGACY_NEWEST_YANKED', 'NEWEST_YANKED:stable']);
    assert.deepEqual(yankNewest.legacy.after?.version, '1.0.0');
    const empty = computePlan({
      releases: [
        loaded('1.0.0', { active: false }),
        loaded('1.0.1', { active: false }),
        loaded('2.0.0', { channel: 'beta', active: false }),
      ],
      rows,
    });
    assert.deepEqual(codes(empty), ['CHANNEL_EMPTY:beta', 'CHANNEL_EMPTY:stable', 'LEGACY_EMPTY']);
    assert.equal(empty.legacy.after, null);
  });

  it('treats a removed file of a managed row as a yank, and an already-yanked one as nothing', () => {
    const plan = computePlan({
      releases: [loaded('1.0.0')],
      rows: [synced(loaded('1.0.0')), synced(loaded('1.0.1')), synced(loaded('0.9.0', { active: false }))],
    });
    assert.deepEqual(
      plan.yanks.map((y) => [y.version, y.reason]),
      [['1.0.1', 'file-removed']],
    );
    assert.equal(plan.unchanged, 2);
  });

  it('renders sections other steps add, and their problems block', () => {
    const plan = computePlan({ releases: [loaded('1.0.0')], rows: [] });
    plan.sections.push({
      id: 'manifests',
      title: 'Published manifests',
      lines: ['stable: 1.0.0 -> 1.0.0'],
      problems: [{ severity: 'error', code: 'MANIFEST_DIFFERS', file: 'releases/policy.yaml', message: 'bad' }],
    });
    assert.match(renderPlanText(plan), /Published manifests:\n {2}stable: 1\.0\.0 -> 1\.0\.0/);
    assert.match(renderPlanMarkdown(plan), /#### Published manifests/);
    assert.deepEqual(
      blockingProblems(plan).map((p) => p.code),
      ['MANIFEST_DIFFERS'],
    );
  });

  it('is plain JSON (for --json)', () => {
    const plan = computePlan({
      releases: [loaded('1.0.0', { release_notes: 'a | b' })],
      rows: [synced(loaded('0.9.0'))],
    });
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
    assert.match(renderPlanMarkdown(plan), /Legacy endpoint/);
  });
});

describe('computePlan, on any releases and any table', () => {
  const version = fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
    .map(([a, b]) => `1.${a}.${b}`);
  const release = fc.record({
    version,
    active: fc.boolean(),
    channel: fc.constantFrom('stable', 'beta'),
    rollout_percent: fc.constantFrom(0, 10, 100),
    notes: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    floor: fc.option(fc.constantFrom('1.0.0', '1.1.0'), { nil: undefined }),
  });
  const files = fc.uniqueArray(release, { selector: (r) => r.version, maxLength: 8 }).map((rs) =>
    rs.map((r) =>
      loaded(r.version, {
        active: r.active,
        channel: r.channel,
        rollout_percent: r.rollout_percent,
        release_notes: r.notes,
        min_required_version: r.floor,
      }),
    ),
  );

  /** What sync writes: the plan's rows replace or join the table's. */
  function apply(rows: readonly ReleaseRow[], plan: Plan): ReleaseRow[] {
    const out = new Map(rows.map((r) => [r.version, r]));
    for (const w of [...plan.inserts, ...plan.updates, ...plan.yanks])
      out.set(w.version, { ...w.row, synced_at: new Date(1) });
    return [...out.values()];
  }

  it('converges: after applying a plan, the next plan is empty and nothing is ever deleted', () => {
    fc.assert(
      fc.property(files, files, fc.boolean(), (before, now, yankUnmanaged) => {
        // The table: some managed rows from an earlier state, and some raw-SQL rows.
        const rows = before.map((l, i) => (i % 3 === 2 ? raw(l.release.version) : synced(l)));
        const plan = computePlan({ releases: now, rows, yankUnmanaged });
        if (blockingProblems(plan).length > 0) return;
        const applied = apply(rows, plan);
        assert.ok(
          rows.every((r) => applied.some((a) => a.version === r.version)),
          'no row disappears',
        );
        const again = computePlan({ releases: now, rows: applied, yankUnmanaged });
        assert.equal(isNoop(again), true, JSON.stringify(again.updates));
        // The legacy active column is exactly: active, stable, at 100 %.
        for (const l of now) {
          const row = applied.find((a) => a.version === l.release.version);
          assert.equal(
            row?.active,
            l.release.active && l.release.channel === 'stable' && l.release.rollout_percent === 100,
          );
        }
      }),
    );
  });
});
