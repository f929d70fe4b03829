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
 * All or nothing: any package that cannot be measured or does not match means no file is written.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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
  problems: Problem[];
  /** a package could not be fetched: retry (exit 3) rather than fix (exit 1) */
  external: boolean;
}

/** The release file for a row, exactly what makes plan see no field change. */
export function releaseFileOfRow(row: ReleaseRow, size: number | null): ReleaseFile {
  const defaults: Record<string, unknown> = RELEASE_DEFAULTS;
  const file: Record<string, unknown> = {};
  for (const { name } of RELEASE_FIELD_COLUMNS) {
    const v = name === 'size' ? size : row[name];
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

export async function importReleases(sql: Sql, set: ReleaseSet, opts: ImportOptions): Promise<ImportResult> {
  const rows = rowsToImport(await readRows(sql), set);
  const fileOf = (v: string) => relative(set.root, join(set.dir, `${v}.yaml`));
  const problems: Problem[] = [];
  let external = false;
  const sizes = new Map<string, number | null>();
  for (const row of rows) {
    if (opts.offline || opts.http === undefined) {
      sizes.set(row.version, null);
      continue;
    }
    const file = fileOf(row.version);
    let got: { bytes: number; sha256: string };
    try {
      got = await measure(opts.http, row);
    } catch (err) {
      if (err instanceof HttpError) {
        external = true;
        problems.push({
          severity: 'error',
          code: 'IMPORT_DOWNLOAD_FAILED',
          file,
          message: `cannot download ${err.url} to measure the size of ${row.version}: ${messageOf(err)}. Retry, or import with --offline and fill in size by hand.`,
        });
        continue;
      }
      throw err;
    }
    if (got.sha256 !== row.sha256) {
      problems.push({
        severity: 'error',
        code: 'IMPORT_SHA256_MISMATCH',
        file,
        message: `the package at ${row.download_url} has sha256 ${got.sha256}, but agent_releases says ${row.sha256} for ${row.version}: agents reject it. Nothing was imported; fix the row or the package first (or yank the row with "mngd-release sync --yank-unmanaged").`,
      });
      continue;
    }
    sizes.set(row.version, got.bytes);
  }
  if (problems.length > 0)
    return { files: [], problems, external: external && !problems.some((p) => p.code === 'IMPORT_SHA256_MISMATCH') };
  const files: ImportedFile[] = [];
  for (const row of rows) {
    const size = sizes.get(row.version) ?? null;
    let text = renderReleaseYaml(releaseFileOfRow(row, size));
    if (size === null) text = text.replace(/^(sha256: .*\n)/m, `$1${SIZE_PLACEHOLDER}\n`);
    // 'wx': never overwrite a file someone wrote meanwhile.
    await writeFile(join(set.dir, `${row.version}.yaml`), text, { flag: 'wx' });
    files.push({ version: row.version, file: fileOf(row.version), size });
  }
  return { files, problems, external: false };
}
