/**
 * How a release file maps to a row of agent_releases, and what the legacy endpoint serves from
 * rows. Pure: plan, sync, import and the tests share these.
 */
import { MANAGED_BY } from '../../schema/sql/index.js';
import type { Release } from '../../schema/types.js';
import { runsOnEveryMac, type SupportedMacos } from '../../schema/artifacts.js';
import { isVersion } from '../../schema/version.js';
import {
  WRITTEN_COLUMNS,
  type IMMUTABLE_FIELDS,
  type MUTABLE_FIELDS,
  type ReleaseFieldColumn,
  type WrittenRow,
} from '../../schema/sql/columns.js';

/** A row as sync writes it (synced_at is the time of the write). */
export type RowValues = WrittenRow;

export type RowField = (typeof MUTABLE_FIELDS)[number] | (typeof IMMUTABLE_FIELDS)[number];

/**
 * The contract's legacy `active`: a release every stable agent may take. The legacy endpoint's
 * readers cannot choose a package or know their macOS, so it must also run on every supported Mac
 * (a universal artifact, no requires stricter than the policy's range).
 */
export function legacyActive(r: Release, supported: SupportedMacos = EVERY_MACOS): boolean {
  return r.active && r.channel === 'stable' && r.rollout_percent === 100 && runsOnEveryMac(r, supported);
}

const EVERY_MACOS: SupportedMacos = { oldest: null, newest: null };

/** The columns that are not a release field of the same name: what sync writes in them. */
function ownColumns(r: Release, supported: SupportedMacos): Omit<RowValues, ReleaseFieldColumn> {
  return { active: legacyActive(r, supported), yanked: !r.active, managed_by: MANAGED_BY };
}

export function rowOf(r: Release, supported: SupportedMacos = EVERY_MACOS): RowValues {
  const own: Record<string, unknown> = ownColumns(r, supported);
  const value = (name: string): unknown => (name in own ? own[name] : (r[name as ReleaseFieldColumn] ?? null));
  // in the registry's order: plan --json shows rows as sync writes them
  return Object.fromEntries(WRITTEN_COLUMNS.map((c) => [c.name, value(c.name)])) as RowValues;
}

/** The order of `ORDER BY string_to_array(version, '.')::int[] DESC`: integer arrays, a prefix first. */
export function compareIntArrays(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const d = (pa[i] as number) - (pb[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return pa.length === pb.length ? 0 : pa.length < pb.length ? -1 : 1;
}

/** What `SELECT * FROM agent_releases WHERE active ORDER BY string_to_array(...)::int[] DESC LIMIT 1` returns. */
export function legacyPick<R extends Pick<RowValues, 'version' | 'active'>>(rows: readonly R[]): R | null {
  let best: R | null = null;
  for (const r of rows) {
    if (!r.active || !isVersion(r.version)) continue;
    if (best === null || compareIntArrays(r.version, best.version) > 0) best = r;
  }
  return best;
}
