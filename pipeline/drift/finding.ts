/** What drift reports: one difference between git and the table or a published manifest. */
export type DriftCode =
  | 'MANIFEST_MISSING'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_DIFFERS'
  | 'MANIFEST_EXPIRED'
  | 'MANIFEST_EXPIRING'
  | 'MANIFEST_HEADERS'
  | 'MANIFEST_BEHIND_HISTORY'
  | 'MANIFEST_LIVE_HALT'
  | 'TABLE_ROW_MISSING'
  | 'TABLE_ROW_DIFFERS'
  | 'TABLE_ROW_NOT_YANKED'
  | 'TABLE_IMMUTABLE_CHANGED'
  | 'TABLE_UNMANAGED_ROW'
  | 'TABLE_CONFLICT'
  | 'TABLE_MIGRATIONS_PENDING'
  | 'TABLE_BEHIND'
  | 'SCHEDULE_STEP_DUE';

export interface DriftFinding {
  severity: 'error' | 'warning';
  code: DriftCode;
  /** what drifted: "table 1.0.2", "manifest stable (latest.json)" */
  subject: string;
  message: string;
  /** one line per difference: "<field>: git says X, <the other> says Y" */
  details: string[];
  /** the release file concerned, if any (for annotations) */
  file?: string;
}
