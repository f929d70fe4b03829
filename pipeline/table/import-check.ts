/**
 * Before import writes a file: each row rendered as the release file it would become, checked by
 * the same rules as any release file (one file and across files), and every problem turned into
 * the row and the SQL that makes it adoptable. Pure: import refuses while any error remains, so
 * nothing is half-written.
 */
import { join, relative } from 'node:path';
import type { ReleaseFile } from '../../schema/types.js';
import type { ReleaseRow } from './db/rows.js';
import { crossFileProblems, parseRelease, renderReleaseYaml } from '../releases/index.js';
import type { LoadedRelease, Problem, ReleaseSet } from '../releases/index.js';
import { describeRow, meantVersion, sqlText, type RowProblem } from './legacy-rows.js';

export interface AdoptionCheck {
  /** errors: the rows import refuses, each with its SQL */
  problems: RowProblem[];
  /** written as the row says, but worth a look */
  warnings: RowProblem[];
}

const set1 = (version: string, column: string, value: string | null) =>
  `UPDATE agent_releases SET ${column} = ${sqlText(value)} WHERE version = ${sqlText(version)};`;

/** The way out of one problem of a row's would-be file: what to say and the SQL. */
function wayOut(p: Problem, row: ReleaseRow): { message: string; sql: string[] } {
  const v = row.version;
  switch (p.code) {
    case 'RELEASE_BAD_SHA256':
      return {
        message: `sha256 ${sqlText(row.sha256)} is ${row.sha256.length} characters; a SHA-256 is 64 hex characters. Hash the package (mngd-release hash <pkg> after downloading ${row.download_url}) and write the whole hash`,
        sql: [`-- ${set1(v, 'sha256', '<the 64 hex characters mngd-release hash prints>')}`],
      };
    case 'RELEASE_BAD_DOWNLOAD_URL': {
      if (/^http:\/\//i.test(row.download_url)) {
        const https = row.download_url.replace(/^http:/i, 'https:');
        return {
          message: `download_url ${row.download_url} is plain http, which agents refuse. If the CDN serves the same package at ${https} (import downloads and checks it), write that`,
          sql: [set1(v, 'download_url', https)],
        };
      }
      return {
        message: `download_url ${JSON.stringify(row.download_url)} is not an https:// URL. Write the package's https:// URL`,
        sql: [`-- ${set1(v, 'download_url', 'https://<the package>')}`],
      };
    }
    case 'RELEASE_FLOOR_ABOVE_VERSION':
    case 'RELEASE_FLOOR_LOCKOUT':
    case 'RELEASE_BAD_MIN_REQUIRED_VERSION': {
      const floor = row.min_required_version ?? '';
      const meant = meantVersion(floor);
      if (p.code === 'RELEASE_BAD_MIN_REQUIRED_VERSION' && meant !== null)
        return {
          message: `min_required_version ${sqlText(floor)} is not a dotted numeric version. Write it as ${meant}`,
          sql: [set1(v, 'min_required_version', meant)],
        };
      return {
        message: `min_required_version ${sqlText(floor)} is ${p.code === 'RELEASE_BAD_MIN_REQUIRED_VERSION' ? 'not a version' : `above every version devices can reach through it (${p.code === 'RELEASE_FLOOR_LOCKOUT' ? 'nothing offered is at or above it' : `this release is ${v}`})`}: agents below it could never satisfy it. Clear it (or set a version at or below ${v})`,
        sql: [set1(v, 'min_required_version', null)],
      };
    }
    default:
      return {
        message: `${p.message}. Change the row so it reads as a valid release file, or remove it if it never shipped`,
        sql: [`-- ${v}: ${p.code}: UPDATE the row, or DELETE FROM agent_releases WHERE version = ${sqlText(v)};`],
      };
  }
}

function rowProblem(
  severity: 'error' | 'warning',
  p: Problem,
  row: ReleaseRow,
  out: { message: string; sql: string[] },
): RowProblem {
  const inline = out.sql.map((s) => s.replace(/^-- /, '')).join(' ');
  return {
    severity,
    code: p.code,
    file: p.file,
    rows: [row.version],
    message: `agent_releases ${describeRow(row)}: ${out.message}${inline ? `: ${inline}` : ''}`,
    sql: out.sql,
  };
}

/**
 * `render(row)` is the file import would write (size stands in when not measured yet);
 * `nullActive` the versions whose `active` is NULL (read as not active, as the legacy endpoint does).
 */
export function checkAdoption(
  rows: readonly ReleaseRow[],
  set: ReleaseSet,
  render: (row: ReleaseRow) => ReleaseFile,
  nullActive: ReadonlySet<string>,
): AdoptionCheck {
  const problems: RowProblem[] = [];
  const warnings: RowProblem[] = [];
  const loaded: LoadedRelease[] = [];
  const rowOfFile = new Map<string, ReleaseRow>();
  for (const row of rows) {
    const name = `${row.version}.yaml`;
    const file = relative(set.root, join(set.dir, name));
    rowOfFile.set(file, row);
    // A row becomes a file with a fixed rollout_percent, never a schedule: no time to read it at.
    const parsed = parseRelease(file, name, Buffer.from(renderReleaseYaml(render(row))), set.policy, 0);
    for (const p of parsed.problems) problems.push(rowProblem('error', p, row, wayOut(p, row)));
    if (parsed.loaded) loaded.push(parsed.loaded);
    if (nullActive.has(row.version))
      warnings.push(
        rowProblem('warning', { severity: 'warning', code: 'IMPORT_ACTIVE_NULL', file, message: '' }, row, {
          message:
            'active is NULL, which the legacy endpoint never serves: imported as active: false (yanked), so nothing changes for any agent. To offer it, write active: true in the file after import (plan then shows it), or set the row first',
          sql: [`-- UPDATE agent_releases SET active = true WHERE version = ${sqlText(row.version)};`],
        }),
      );
    if (row.release_notes !== null && row.release_notes.trim() === '')
      warnings.push(
        rowProblem('warning', { severity: 'warning', code: 'IMPORT_NOTES_EMPTY', file, message: '' }, row, {
          message:
            'release_notes is empty: the file says release_notes: "" so plan shows no change; delete that line after import to clear it (sync then writes NULL), or clear it first',
          sql: [`-- ${set1(row.version, 'release_notes', null)}`],
        }),
      );
  }
  const newFiles = new Set(loaded.map((l) => l.file));
  for (const p of crossFileProblems([...set.releases, ...loaded], set.policy)) {
    const row = rowOfFile.get(p.file);
    if (row === undefined || !newFiles.has(p.file)) continue;
    (p.severity === 'error' ? problems : warnings).push(rowProblem(p.severity, p, row, wayOut(p, row)));
  }
  return { problems, warnings };
}
