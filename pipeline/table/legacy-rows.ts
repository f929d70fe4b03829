/**
 * Rows of agent_releases that no release file can describe as they are: the same version twice
 * (or two spellings that compare equal, 1.0 and 1.0.0), a version that is not dotted numeric
 * (v1.0.2). Found from the rows alone (pure), each with the SQL that resolves it, so import
 * refuses before it writes anything and plan names the same rows the same way.
 */
import { isVersion, versionSortKey } from '../../schema/version.js';
import type { ReleaseRow } from './db/rows.js';
import type { Problem } from '../releases/index.js';

/** A problem the operator resolves in the table, with the statements that do it. */
export interface RowProblem extends Problem {
  /** SQL to run against agent_releases; a line starting with "--" needs a value only a person knows */
  sql: string[];
  /** the versions of the rows concerned, as spelt in the table */
  rows: string[];
}

/** The UPDATE that puts git's value of an immutable field back into a row edited by hand. */
export function restoreSql(c: { version: string; field: string; git: string | number | boolean | null }): string {
  const v = typeof c.git === 'string' || c.git === null ? sqlText(c.git) : String(c.git);
  return `UPDATE agent_releases SET ${c.field} = ${v} WHERE version = ${sqlText(c.version)};`;
}

/** A SQL string literal (or NULL). */
export function sqlText(v: string | null): string {
  return v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`;
}

/** The version a raw-SQL row meant: "v1.0.2" and " 1.0.2 " mean 1.0.2; null when none can be read. */
export function meantVersion(v: string): string | null {
  const t = v.trim().replace(/^v(?=\d)/i, '');
  return isVersion(t) ? t : null;
}

/** A row, as a person finds it again in psql. */
export function describeRow(r: ReleaseRow): string {
  return `version ${sqlText(r.version)} (sha256 ${r.sha256.slice(0, 12)}…, ${r.download_url}${r.active ? ', active' : ''})`;
}

/** The seed columns, which tell two rows of the same version apart. */
const SEED = ['download_url', 'sha256', 'release_notes', 'min_required_version', 'active'] as const;
const identity = (r: ReleaseRow) => JSON.stringify([r.version, ...SEED.map((c) => r[c])]);

function where(r: ReleaseRow, precise: boolean): string {
  const cols = precise ? (['version', ...SEED] as const) : (['version', 'sha256'] as const);
  return cols
    .map((c) => {
      const v = r[c];
      if (typeof v === 'boolean') return `active IS ${v ? 'TRUE' : 'NOT TRUE'}`;
      return v === null ? `${c} IS NULL` : `${c} = ${sqlText(v)}`;
    })
    .join(' AND ');
}

/**
 * Which row of a group stays: one the pipeline wrote, else one spelled right, else an active one;
 * then the longer spelling (1.1.0 over 1.1) and the smaller hash, so the choice never depends on
 * the order the rows were read in.
 */
function keeperOf(rows: readonly ReleaseRow[]): ReleaseRow {
  const score = (r: ReleaseRow) =>
    (r.managed_by !== null ? 4 : 0) + (isVersion(r.version) ? 2 : 0) + (r.active ? 1 : 0);
  const better = (a: ReleaseRow, b: ReleaseRow) =>
    score(a) - score(b) ||
    a.version.length - b.version.length ||
    (a.sha256 < b.sha256 ? 1 : a.sha256 > b.sha256 ? -1 : 0);
  return rows.reduce((best, r) => (better(r, best) > 0 ? r : best));
}

function duplicateProblem(rows: readonly ReleaseRow[], dir: string): RowProblem {
  const sql: string[] = [];
  // Exact copies (every seed column equal) cannot be told apart by value: keep the first by ctid.
  const copies = new Set(
    rows.filter((r, i) => rows.findIndex((o) => identity(o) === identity(r)) !== i).map((r) => r.version),
  );
  for (const v of copies)
    sql.push(
      `DELETE FROM agent_releases a USING agent_releases b WHERE a.version = ${sqlText(v)} AND b.version = a.version AND a.ctid > b.ctid AND (a.download_url, a.sha256, a.release_notes, a.min_required_version, a.active) IS NOT DISTINCT FROM (b.download_url, b.sha256, b.release_notes, b.min_required_version, b.active);`,
    );
  const distinct = rows.filter((r, i) => rows.findIndex((o) => identity(o) === identity(r)) === i);
  const keeper = keeperOf(distinct);
  const meant = meantVersion(keeper.version) ?? keeper.version;
  const file = `${dir}/${meant}.yaml`;
  for (const r of distinct) {
    if (r === keeper) continue;
    const short = distinct.filter((o) => o.version === r.version && o.sha256 === r.sha256).length === 1;
    sql.push(`DELETE FROM agent_releases WHERE ${where(r, !short)};`);
  }
  if (keeper.version !== meant && !isVersion(keeper.version))
    sql.push(`UPDATE agent_releases SET version = ${sqlText(meant)} WHERE version = ${sqlText(keeper.version)};`);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(identity(r), (counts.get(identity(r)) ?? 0) + 1);
  const listed = distinct.map((r) => {
    const n = counts.get(identity(r)) ?? 1;
    return `${describeRow(r)}${n > 1 ? ` ${n} identical copies` : ''}`;
  });
  return {
    severity: 'error',
    code: 'DB_DUPLICATE_VERSIONS',
    file,
    rows: [...new Set(rows.map((r) => r.version))],
    message: `agent_releases has ${rows.length} rows for version ${meant}: ${listed.join('; ')}. One version is one release to every agent; expected one row. Keep one: ${sql.join(' ')} (this keeps ${describeRow(keeper)}; to keep another, delete the others instead)`,
    sql,
  };
}

function spellingProblem(r: ReleaseRow, meant: string | null, file: string): RowProblem {
  const sql =
    meant === null
      ? [
          `-- give ${sqlText(r.version)} a dotted numeric version: UPDATE agent_releases SET version = '<version>' WHERE version = ${sqlText(r.version)}; (or DELETE it if it never shipped)`,
        ]
      : [`UPDATE agent_releases SET version = ${sqlText(meant)} WHERE version = ${sqlText(r.version)};`];
  return {
    severity: 'error',
    code: 'DB_ROW_VERSION_INVALID',
    file,
    rows: [r.version],
    message: `agent_releases has ${describeRow(r)}, which is not a dotted numeric version; the legacy endpoint cannot sort it and no release file can name it. ${meant === null ? 'Give it a version or delete it' : `Write it as ${meant}`}: ${sql[0]!.replace(/^-- /, '')}`,
    sql,
  };
}

/**
 * Every row that shares a version with another, or whose version is misspelt, with the SQL that
 * resolves it. `dir` is the releases folder relative to the repository (for naming the file).
 */
export function legacyRowProblems(rows: readonly ReleaseRow[], dir: string): RowProblem[] {
  const groups = new Map<string, { meant: string; rows: ReleaseRow[] }>();
  const out: RowProblem[] = [];
  for (const r of rows) {
    const meant = meantVersion(r.version);
    if (meant === null) {
      out.push(spellingProblem(r, null, `${dir}/${r.version}.yaml`));
      continue;
    }
    const key = versionSortKey(meant);
    const g = groups.get(key);
    if (g) g.rows.push(r);
    else groups.set(key, { meant, rows: [r] });
  }
  for (const { meant, rows: group } of groups.values()) {
    const file = `${dir}/${meant}.yaml`;
    if (group.length > 1) out.push(duplicateProblem(group, dir));
    else if (group[0]!.version !== meant) out.push(spellingProblem(group[0]!, meant, file));
  }
  return out;
}
