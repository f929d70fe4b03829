/** The shapes of a plan: what sync will change in agent_releases, and what other steps add. */
import type { SupportedMacos } from '../../schema/artifacts.js';
import type { ReleaseRow } from './db/rows.js';
import type { ArtifactRow } from '../../schema/sql/index.js';
import type { RowField, RowValues } from './release-row.js';
import type { Problem } from '../releases/index.js';
import type { LoadedRelease } from '../releases/index.js';

export type FieldValue = string | number | boolean | null;

export interface FieldChange {
  field: RowField;
  from: FieldValue;
  to: FieldValue;
}

/** download_url, sha256 or size differ between a release file and its row: sync refuses. */
export interface ImmutableChange {
  version: string;
  file: string;
  field: RowField;
  git: FieldValue;
  table: FieldValue;
}

export interface PlannedInsert {
  version: string;
  file: string;
  row: RowValues;
}

/** A write to an existing row: field changes, an adoption of a raw-SQL row, or a yank. */
export interface PlannedUpdate {
  version: string;
  /** the release file, or null when the file is gone */
  file: string | null;
  changes: FieldChange[];
  /** the row as sync will write it */
  row: RowValues;
  /**
   * a raw-SQL row a file now describes, changed only by being marked managed and getting the size
   * the seed lacked: no change to what any agent sees (what import produces)
   */
  adopt: boolean;
}

export type YankReason = 'file-says-inactive' | 'file-says-halted' | 'file-removed' | 'unmanaged-yanked';

export interface PlannedYank extends PlannedUpdate {
  reason: YankReason;
}

export interface UnmanagedRow {
  version: string;
  /** the file that adopts it, or null */
  file: string | null;
  /** adopt: a file describes it; yank: no file and --yank-unmanaged; refuse: sync will not run */
  action: 'adopt' | 'yank' | 'refuse';
}

export interface FloorChange {
  channel: string;
  before: string | null;
  after: string | null;
}

export interface LegacyView {
  version: string;
  min_required_version: string | null;
}

export type WarningCode =
  | 'FLOOR_RAISED'
  | 'FLOOR_DESUPPORTS'
  | 'RELEASE_HALTED'
  | 'NEWEST_YANKED'
  | 'CHANNEL_EMPTY'
  | 'LEGACY_EMPTY'
  | 'LEGACY_FLOOR_RAISED'
  | 'LEGACY_NEWEST_YANKED'
  | 'TRUSTED_KEYS_CHANGED'
  | 'RELEASE_BELOW_OFFERED';

/** A load event: allowed, but the plan calls it out loudly. */
export interface PlanWarning {
  code: WarningCode;
  channel?: string;
  /** the release it is about (a halt, a yank): where its annotation goes */
  version?: string;
  message: string;
}

/** A section another step adds to the plan (e.g. publish's comparison with the live manifests). */
export interface PlanSection {
  id: string;
  title: string;
  /** one line each, plain text (rendered as a list) */
  lines: string[];
  /** the section's own Markdown (tables, a Mermaid chart) for the job summary, instead of `lines` as a list */
  markdown?: string[];
  warnings?: PlanWarning[];
  /** errors in a section block sync/apply like the plan's own */
  problems?: Problem[];
  /** machine-readable detail for --json */
  data?: unknown;
}

export interface Plan {
  /** migrations sync will run first (plan reads the table as if they had run) */
  migrations: { id: string; summary: string }[];
  inserts: PlannedInsert[];
  updates: PlannedUpdate[];
  yanks: PlannedYank[];
  unmanaged: UnmanagedRow[];
  /** versions present in both with nothing to write */
  unchanged: number;
  floors: FloorChange[];
  legacy: { before: LegacyView | null; after: LegacyView | null };
  warnings: PlanWarning[];
  /** errors that stop sync (immutability, unmanaged rows without a file, ...): nothing is written */
  problems: Problem[];
  /** each IMMUTABLE_FIELD_CHANGED of `problems`, as data: drift prints the UPDATE that restores git's value */
  immutableChanges: ImmutableChange[];
  sections: PlanSection[];
  /** per-arch packages sync inserts into agent_release_artifacts */
  artifacts: ArtifactRow[];
}

export interface PlanInput {
  releases: readonly LoadedRelease[];
  rows: readonly ReleaseRow[];
  /** the policy's channels (plus any seen in files or rows) get a floor line */
  channels?: readonly string[];
  pendingMigrations?: readonly { id: string; summary: string }[];
  /** the releases directory relative to the repository, for naming files that do not exist (default: releases) */
  releasesDir?: string;
  /** yank rows the pipeline never managed that have no file, instead of refusing */
  yankUnmanaged?: boolean;
  /** the policy's supported macOS (the legacy `active` needs a release every one of them runs); default: every macOS */
  supported?: SupportedMacos;
  /** the rows of agent_release_artifacts (none before its migration) */
  artifactRows?: readonly ArtifactRow[];
}
