/**
 * Import: writes releases/<version>.yaml for rows of agent_releases that no release file
 * describes and that the pipeline never managed (the raw-SQL era), so a team adopts the
 * pipeline in one pull request. After it, plan shows no change to any release: the rows are only
 * marked as managed by the next sync.
 *
 * The seed table has no size, and the contract needs one. By default import downloads each
 * package through the shared HTTP client, proves it matches the row's sha256 and records the size
 * it measured: an imported file is as proven as one verify-artifacts checked. With `offline`, the
 * file gets no size and a comment saying so, and validate fails on it until someone fills it in.
 * All or nothing: every row is checked first, as the release file it would become (the rows'
 * own mistakes: duplicates, misspelt versions, short hashes, http URLs, floors above every
 * version); any problem, or any package that cannot be measured or does not match, means no file
 * is written, and each problem names its row and the SQL that resolves it. An uppercase hash is
 * the same hash: written lowercase (sync then writes it lowercase in the table too).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { HttpClient } from '../../agent/http/index.js';
import { HttpError } from '../../agent/http/index.js';
import { messageOf } from '../../schema/errors.js';
import { RELEASE_FIELD_COLUMNS } from '../../schema/sql/columns.js';
import { RELEASE_DEFAULTS, type ReleaseFile } from '../../schema/types.js';
import { compareVersions, isVersion, sortNewestFirst } from '../../schema/version.js';
import type { Sql } from './db/database.js';
import { readRows, type ReleaseRow } from './db/rows.js';
import type { Problem } from '../releases/index.js';
import type { ReleaseSet } from '../releases/index.js';
import { renderReleaseYaml } from '../releases/index.js';
import { checkAdoption } from './import-check.js';
import { describeRow, legacyRowProblems, sqlText, type RowProblem } from './legacy-rows.js';

/** Largest package import will download to measure (agents stop at `size` anyway). */
export const MAX_IMPORT_BYTES = 16 * 1024 ** 3;

export const SIZE_PLACEHOLDER =
  '# size: unknown (imported with --offline): add "size: <bytes>" from "mngd-release hash <pkg>"';

export interface ImportOptions {
  /** downloads packages to measure their size (default: none, which requires offline) */
  http?: HttpClient;
  /** write files without size instead of downloading */
  offline?: boolean;
}

export interface ImportedFile {
  version: string;
  /** relative to the repository */
  file: string;
  size: number | null;
}

export interface ImportResult {
  /** files written (none when there are problems) */
  files: ImportedFile[];
  /** errors (nothing written) and warnings (written as the row says) */
  problems: Problem[];
  /** the SQL that resolves the errors, in order (a "--" line needs a value only a person knows) */
  sql: string[];
  /** a package could not be fetched: retry (exit 3) rather than fix (exit 1) */
  external: boolean;
  /** a TLS failure (an unknown CA): a setting (exit 2), which a retry cannot fix */
  tls?: boolean;
}

/** The release file for a row, exactly what makes plan see no field change. */
export function releaseFileOfRow(row: ReleaseRow, size: number | null): ReleaseFile {
  const defaults: Record<string, unknown> = RELEASE_DEFAULTS;
  const file: Record<string, unknown> = {};
  for (const { name } of RELEASE_FIELD_COLUMNS) {
    const v = name === 'size' ? size : name === 'sha256' ? row.sha256.toLowerCase() : row[name];
    // what the file leaves out reads as NULL or as the release default (stable, 100 %)
    if (v !== null && v !== defaults[name]) file[name] = v;
  }
  if (row.yanked) file['active'] = false;
  return file as ReleaseFile;
}

/** Rows that need a file: never managed, a valid version, no release file under any spelling. */
export function rowsToImport(rows: readonly ReleaseRow[], set: ReleaseSet): ReleaseRow[] {
  const known = set.releases.map((l) => l.release.version);
  return sortNewestFirst(
    rows.filter(
      (r) =>
        r.managed_by === null &&
        isVersion(r.version) &&
        !known.some((v) => compareVersions(v, r.version) === 0) &&
        !existsSync(join(set.dir, `${r.version}.yaml`)),
    ),
  );
}

/** The package's size and SHA-256 as the server sends it. */
async function measure(http: HttpClient, row: ReleaseRow): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const r = await http.stream(row.download_url, { maxBytes: MAX_IMPORT_BYTES, onData: (c) => hash.update(c) });
  return { bytes: r.bytes, sha256: hash.digest('hex') };
}

/** Versions whose `active` is NULL (readRows reads them as false, as the legacy endpoint does). */
async function nullActiveVersions(sql: Sql): Promise<Set<string>> {
  const { rows } = await sql.query<{ version: string }>(
    'SELECT version::text AS version FROM agent_releases WHERE active IS NULL',
  );
  return new Set(rows.map((r) => r.version));
}

/** A mismatch, with the statement that records the package's real hash (a person decides which is right). */
function mismatch(row: ReleaseRow, file: string, got: string): RowProblem {
  const sql = [
    `-- if ${row.download_url} is the right package: UPDATE agent_releases SET sha256 = ${sqlText(got)} WHERE version = ${sqlText(row.version)};`,
  ];
  return {
    severity: 'error',
    code: 'IMPORT_SHA256_MISMATCH',
    file,
    rows: [row.version],
    sql,
    message: `the package at ${row.download_url} has sha256 ${got}, but agent_releases says ${row.sha256} for ${row.version}: agents reject it. Nothing was imported; fix the row or the package first: if the package is right, UPDATE agent_releases SET sha256 = ${sqlText(got)} WHERE version = ${sqlText(row.version)}; (or yank the row with "mngd-release sync --yank-unmanaged").`,
  };
}

/** A short hash the package's real one starts with (pasted cut off): the fix is certain. */
function completeHash(p: RowProblem, row: ReleaseRow, got: string): RowProblem {
  if (!/^[0-9a-f]+$/i.test(row.sha256) || !got.startsWith(row.sha256.toLowerCase())) return p;
  const sql = [`UPDATE agent_releases SET sha256 = ${sqlText(got)} WHERE version = ${sqlText(row.version)};`];
  return {
    ...p,
    sql,
    message: `agent_releases ${describeRow(row)}: sha256 ${sqlText(row.sha256)} is the first ${row.sha256.length} characters of the package's SHA-256 (downloaded from ${row.download_url}); write the whole hash: ${sql[0]}`,
  };
}

export async function importReleases(sql: Sql, set: ReleaseSet, opts: ImportOptions): Promise<ImportResult> {
  const all = await readRows(sql);
  const dir = relative(set.root, set.dir) || '.';
  const rowProblems = legacyRowProblems(all, dir);
  const blocked = new Set(rowProblems.flatMap((p) => p.rows));
  const rows = rowsToImport(all, set).filter((r) => !blocked.has(r.version));
  const fileOf = (v: string) => relative(set.root, join(set.dir, `${v}.yaml`));
  const online = !opts.offline && opts.http !== undefined;
  // A size stands in until measured: the checks are about the row, not the package.
  const check = checkAdoption(rows, set, (r) => releaseFileOfRow(r, 1), await nullActiveVersions(sql));
  const problems: RowProblem[] = [...rowProblems, ...check.problems];
  if (online && opts.http !== undefined) {
    // A short hash of a package import can download: the whole hash, when the short one starts it.
    for (const [i, p] of problems.entries()) {
      const row = rows.find((r) => p.code === 'RELEASE_BAD_SHA256' && r.version === p.rows[0]);
      if (row === undefined || !row.download_url.startsWith('https://')) continue;
      const got = await measure(opts.http, row).catch(() => null);
      if (got !== null) problems[i] = completeHash(p, row, got.sha256);
    }
  }
  problems.sort((a, b) => a.file.localeCompare(b.file));
  const refused = (external: boolean): ImportResult => ({
    files: [],
    problems: [...problems, ...check.warnings],
    sql: problems.flatMap((p) => p.sql),
    external,
  });
  if (problems.length > 0) return refused(false);
  let external = false;
  let tls = false;
  const sizes = new Map<string, number | null>();
  for (const row of rows) {
    if (!online || opts.http === undefined) {
      sizes.set(row.version, null);
      continue;
    }
    const file = fileOf(row.version);
    let got: { bytes: number; sha256: string };
    try {
      got = await measure(opts.http, row);
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.code === 'HTTP_TLS') tls = true;
        else external = true;
        problems.push({
          severity: 'error',
          code: 'IMPORT_DOWNLOAD_FAILED',
          file,
          rows: [row.version],
          sql: [],
          message: `cannot download ${err.url} to measure the size of ${row.version}: ${messageOf(err)}. ${err.code === 'HTTP_TLS' ? 'Trust the CA (--ca-file PEM, or NODE_EXTRA_CA_CERTS=PEM)' : 'Retry'}, or import with --offline and fill in size by hand.`,
        });
        continue;
      }
      throw err;
    }
    // The same hash in either case (a raw-SQL row may hold it uppercase).
    if (got.sha256 !== row.sha256.toLowerCase()) {
      problems.push(mismatch(row, file, got.sha256));
      continue;
    }
    sizes.set(row.version, got.bytes);
  }
  const wrongPackage = problems.some((p) => p.code === 'IMPORT_SHA256_MISMATCH');
  if (problems.length > 0) return { ...refused(external && !wrongPackage), ...(tls && !wrongPackage ? { tls } : {}) };
  const files: ImportedFile[] = [];
  try {
    for (const row of rows) {
      const size = sizes.get(row.version) ?? null;
      let text = renderReleaseYaml(releaseFileOfRow(row, size));
      if (size === null) text = text.replace(/^(sha256: .*\n)/m, `$1${SIZE_PLACEHOLDER}\n`);
      // 'wx': never overwrite a file someone wrote meanwhile.
      await writeFile(join(set.dir, `${row.version}.yaml`), text, { flag: 'wx' });
      files.push({ version: row.version, file: fileOf(row.version), size });
    }
  } catch (err) {
    // All the files or none: a failure part-way takes back what this run wrote.
    for (const f of files) await unlink(join(set.root, f.file)).catch(() => undefined);
    throw err;
  }
  return { files, problems: check.warnings, sql: [], external: false };
}
