/** What loading `releases/` gives every later step (validate, verify-artifacts, plan, sync, publish). */
import type { Policy, Release } from '../../schema/types.js';
import type { Problem } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

export interface LoadedRelease {
  release: Release;
  /** path relative to the repository root, e.g. releases/1.0.3.yaml */
  file: string;
  /** where each top-level key's value starts in the file (for annotations on the right line) */
  positions: Partial<Record<keyof Release, Position>>;
  /** where nested values start, by path: "artifacts.1.sha256" */
  nested?: Record<string, Position>;
}

export interface ReleaseSet {
  /** absolute path of the releases directory */
  dir: string;
  /** the repository root the `file` paths are relative to */
  root: string;
  /** null when policy.yaml is missing or invalid (then `problems` says why) */
  policy: Policy | null;
  policyFile: string;
  /** releases that parsed and passed the schema, sorted newest first */
  releases: LoadedRelease[];
  /**
   * Each ring the policy names, its members as manifests carry them: SHA-256(ring_salt + "/" +
   * device_id), hex, sorted. The plain ids are hashed as load.ts reads them and kept nowhere.
   */
  rings: Record<string, string[]>;
  /** every problem found: per file and across files */
  problems: Problem[];
}
