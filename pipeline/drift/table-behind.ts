/**
 * Drift's "the table is behind": the table differs from git while every published manifest
 * already matches it, as after a safety change published while the database was down. Pure.
 */
import { CATCH_UP } from '../table/index.js';
import type { DriftFinding } from './finding.js';

const TABLE_ROW = new Set(['TABLE_ROW_MISSING', 'TABLE_ROW_DIFFERS', 'TABLE_ROW_NOT_YANKED']);
const MANIFEST_OFF = new Set(['MANIFEST_MISSING', 'MANIFEST_INVALID', 'MANIFEST_DIFFERS']);

/** Call with the findings of both the table and the manifests (not with --only). */
export function tableBehindFinding(findings: readonly DriftFinding[]): DriftFinding | null {
  const rows = findings.filter((f) => f.severity === 'error' && TABLE_ROW.has(f.code));
  if (rows.length === 0 || findings.some((f) => MANIFEST_OFF.has(f.code))) return null;
  const versions = rows.map((f) => f.subject.replace(/^table /, ''));
  return {
    severity: 'warning',
    code: 'TABLE_BEHIND',
    subject: 'table',
    message: `the table is behind: the published manifests already carry git's change to ${versions.join(', ')}, agent_releases does not yet (the legacy endpoint still serves the old rows); ${CATCH_UP}`,
    details: [],
  };
}
