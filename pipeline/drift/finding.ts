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

/** What drift checked and found as git says: a clean run says what it covered, not only what failed. */
export interface DriftMatch {
  /** "table", "manifest stable (latest.json)" */
  subject: string;
  /** what matched: "sequence 1795744800 matches git: offers 1.0.2 (10%), 1.0.1; floor none; expires …" */
  message: string;
}

/** One side's check: its differences from git, and what it found matching. */
export interface DriftReport {
  findings: DriftFinding[];
  matched: DriftMatch[];
}
