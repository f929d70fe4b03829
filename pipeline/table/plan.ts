/**
 * The plan: what sync will do to agent_releases, computed purely from the release files (git)
 * and the table's current rows. `plan` prints it, `sync` applies exactly it, `apply` embeds it.
 * Other steps add their own comparisons as `sections` (publish: against the live manifests).
 */
import { MANAGED_BY } from '../../schema/sql/index.js';
import { planArtifacts } from './artifact-plan.js';
import { isVersion, sortNewestFirst } from '../../schema/version.js';
import type { ReleaseRow } from './db/rows.js';
import { legacyView, loadEvents } from './plan-events.js';
import { legacyRowProblems } from './legacy-rows.js';
import { belowOfferedWarnings } from './below-offered.js';
import type { Problem } from '../releases/index.js';
import { IMMUTABLE_FIELDS, MUTABLE_FIELDS, sameColumnValue } from '../../schema/sql/columns.js';
import { rowOf, type RowField, type RowValues } from './release-row.js';
import type { LoadedRelease } from '../releases/index.js';

export type {
  ImmutableChange,
  FieldValue,
  FieldChange,
  PlannedInsert,
  PlannedUpdate,
  YankReason,
  PlannedYank,
  UnmanagedRow,
  FloorChange,
  LegacyView,
  WarningCode,
  PlanWarning,
  PlanSection,
  Plan,
  PlanInput,
} from './plan-types.js';
import type {
  ImmutableChange,
  FieldChange,
  PlannedInsert,
  PlannedUpdate,
  YankReason,
  PlannedYank,
  UnmanagedRow,
  Plan,
  PlanInput,
} from './plan-types.js';

const ROW_FIELDS: readonly RowField[] = [...IMMUTABLE_FIELDS, ...MUTABLE_FIELDS];

function diff(before: RowValues, after: RowValues): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of ROW_FIELDS) {
    if (before[field] !== after[field]) out.push({ field, from: before[field], to: after[field] });
  }
  return out;
}

function stripSynced(row: ReleaseRow): RowValues {
  const { synced_at: _s, ...rest } = row;
  return rest;
}

/** 1.0.0 -> 1, 1.0.1 -> 1.0.1: equal versions share one spelling. */
function canonicalVersion(v: string): string {
  return v.replace(/(\.0)+$/, '');
}

function immutabilityProblems(loaded: LoadedRelease, row: RowValues, changed: ImmutableChange[]): Problem[] {
  const out: Problem[] = [];
  const desired = loaded.release;
  for (const field of IMMUTABLE_FIELDS) {
    const had = row[field];
    const want = desired[field];
    // A seed row has no size: filling it in is not a change. ABCD… and abcd… are the same hash.
    if (had === null || sameColumnValue(field, had, want)) continue;
    changed.push({ version: desired.version, file: loaded.file, field, git: want ?? null, table: had });
    const pos = loaded.positions[field];
    out.push({
      severity: 'error',
      code: 'IMMUTABLE_FIELD_CHANGED',
      file: loaded.file,
      ...(pos ? { line: pos.line, column: pos.column } : {}),
      message: `${field} of ${desired.version} is ${JSON.stringify(want)} here but ${JSON.stringify(had)} in agent_releases; download_url, sha256 and size never change once released. Restore the old value, and to ship a different package yank this version (active: false) and release a new version.`,
    });
  }
  return out;
}

export function computePlan(input: PlanInput): Plan {
  const dir = input.releasesDir ?? 'releases';
  const problems: Problem[] = [];
  const byVersion = new Map<string, ReleaseRow>();
  for (const row of input.rows) byVersion.set(row.version, row);
  // The same version twice, equal spellings, v1.0.2: each named with the SQL that resolves it.
  for (const { sql: _sql, rows: _rows, ...p } of legacyRowProblems(input.rows, dir)) problems.push(p);
  const validRows = [...byVersion.values()].filter((r) => isVersion(r.version));
  // 1.0 and 1.0.0 are the same version: index rows by a canonical spelling to find aliases.
  const byCanonical = new Map(validRows.map((r) => [canonicalVersion(r.version), r]));

  const inserts: PlannedInsert[] = [];
  const updates: PlannedUpdate[] = [];
  const yanks: PlannedYank[] = [];
  const unmanaged: UnmanagedRow[] = [];
  const after = new Map<string, RowValues>(validRows.map((r) => [r.version, stripSynced(r)]));
  let unchanged = 0;
  const seen = new Set<string>();

  const immutableChanges: ImmutableChange[] = [];
  const write = (version: string, file: string | null, before: RowValues, next: RowValues, reason?: YankReason) => {
    const changes = diff(before, next);
    if (changes.length === 0) {
      unchanged++;
      return;
    }
    after.set(version, next);
    const adopt =
      before.managed_by === null &&
      changes.every(
        (c) =>
          c.field === 'managed_by' ||
          (c.field === 'size' && c.from === null) ||
          (c.from !== c.to && sameColumnValue(c.field, c.from, c.to)),
      );
    if (next.yanked && !before.yanked)
      yanks.push({ version, file, changes, row: next, reason: reason ?? 'file-says-inactive', adopt: false });
    else updates.push({ version, file, changes, row: next, adopt });
  };

  for (const loaded of sortNewestFirst(input.releases.map((l) => ({ ...l, version: l.release.version })))) {
    const desired = rowOf(loaded.release, input.supported);
    const row = byVersion.get(desired.version);
    seen.add(desired.version);
    if (row === undefined) {
      const alias = byCanonical.get(canonicalVersion(desired.version));
      if (alias !== undefined) {
        seen.add(alias.version);
        const pos = loaded.positions.version;
        problems.push({
          severity: 'error',
          code: 'VERSION_ALIAS',
          file: loaded.file,
          ...(pos ? { line: pos.line, column: pos.column } : {}),
          message: `version ${desired.version} equals ${alias.version}, already in agent_releases under that spelling; write version ${alias.version} (and rename the file) so both name the same row.`,
        });
        continue;
      }
      inserts.push({ version: desired.version, file: loaded.file, row: desired });
      after.set(desired.version, desired);
      continue;
    }
    if (row.managed_by === null) unmanaged.push({ version: row.version, file: loaded.file, action: 'adopt' });
    const violations = immutabilityProblems(loaded, row, immutableChanges);
    if (violations.length > 0) {
      problems.push(...violations);
      continue;
    }
    const reason = loaded.release.halted === undefined ? 'file-says-inactive' : 'file-says-halted';
    write(row.version, loaded.file, stripSynced(row), desired, reason);
  }

  for (const row of validRows) {
    if (seen.has(row.version)) continue;
    const before = stripSynced(row);
    const yanked: RowValues = { ...before, active: false, yanked: true, managed_by: MANAGED_BY };
    if (row.managed_by !== null) {
      // A managed row whose file is gone: a revert of the release commit yanks it.
      write(row.version, null, before, yanked, 'file-removed');
      continue;
    }
    if (input.yankUnmanaged) {
      unmanaged.push({ version: row.version, file: null, action: 'yank' });
      write(row.version, null, before, yanked, 'unmanaged-yanked');
      continue;
    }
    unmanaged.push({ version: row.version, file: null, action: 'refuse' });
    problems.push({
      severity: 'error',
      code: 'UNMANAGED_ROW',
      file: `${dir}/${row.version}.yaml`,
      message: `agent_releases has version ${row.version}, written before the pipeline managed the table, and there is no ${dir}/${row.version}.yaml; sync will not guess. Run "mngd-release import" to write its file (keeps it), or pass --yank-unmanaged to set it active = false.`,
    });
  }

  // the per-arch packages: new ones inserted, a changed one refused like a changed legacy column
  const artifacts = planArtifacts(input.releases, input.artifactRows ?? []);
  problems.push(...artifacts.problems);

  const beforeRows = validRows.map(stripSynced);
  const afterRows = [...after.values()];
  const { floors, warnings } = loadEvents(beforeRows, afterRows, input.channels ?? []);
  warnings.push(
    ...belowOfferedWarnings(
      inserts.map((i) => i.version),
      input.releases.map((l) => l.release),
      new Set(validRows.map((r) => r.version)),
    ),
  );
  // A halt is the on-call stopping a bad release: always called out, before the other load events.
  const halted = new Map(input.releases.map((l) => [l.release.version, l.release.halted]));
  const newlyHalted = [
    ...yanks.filter((y) => y.reason === 'file-says-halted').map((y) => y.version),
    ...inserts.filter((i) => halted.get(i.version) !== undefined).map((i) => i.version),
  ];
  warnings.unshift(
    ...newlyHalted.map((version) => {
      const h = halted.get(version)!;
      return {
        code: 'RELEASE_HALTED' as const,
        version,
        message: `${version} is halted (${JSON.stringify(h.reason)}, at ${h.at}): no channel offers it from now on; devices already on it stay there until a newer release is offered`,
      };
    }),
  );
  return {
    migrations: [...(input.pendingMigrations ?? [])].map(({ id, summary }) => ({ id, summary })),
    inserts,
    updates,
    yanks,
    unmanaged: sortNewestFirst(unmanaged),
    unchanged,
    floors,
    legacy: { before: legacyView(beforeRows), after: legacyView(afterRows) },
    warnings,
    problems,
    immutableChanges,
    sections: [],
    artifacts: artifacts.inserts,
  };
}

/** True when no release changes for anyone: only migrations and adoptions (what follows an import). */
export function changesNoRelease(plan: Plan): boolean {
  return (
    plan.inserts.length === 0 &&
    plan.yanks.length === 0 &&
    plan.artifacts.length === 0 &&
    plan.updates.every((u) => u.adopt)
  );
}

/** True when sync would write nothing at all. */
export function isNoop(plan: Plan): boolean {
  return (
    plan.migrations.length === 0 &&
    plan.inserts.length === 0 &&
    plan.updates.length === 0 &&
    plan.yanks.length === 0 &&
    plan.artifacts.length === 0
  );
}

/** Every error that stops sync, the plan's own and its sections'. */
export function blockingProblems(plan: Plan): Problem[] {
  return [...plan.problems, ...plan.sections.flatMap((s) => s.problems ?? [])].filter((p) => p.severity === 'error');
}
