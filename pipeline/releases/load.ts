/**
 * Reads `releases/` (the I/O edge): lists the folder without following links, reads each file
 * with a size cap, and hands the bytes to the pure parsers and rules. Never throws for bad
 * input: every problem lands in `problems`.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, readdirSync, type Dirent } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isVersion, sortNewestFirst } from '../../schema/version.js';
import { ExternalError, SettingsError } from '../../schema/errors.js';
import { parsePolicy } from './policy-file.js';
import { parseRelease } from './release-file.js';
import { sortProblems, type Problem } from './problems.js';
import type { LoadedRelease, ReleaseSet } from './release-set.js';
import { crossFileProblems } from './rules.js';
import { hashedRings, MAX_RING_FILE_BYTES, parseRingFile } from '../../schema/rings.js';
import type { Policy } from '../../schema/types.js';

export const POLICY_FILE = 'policy.yaml';
export const MAX_FILE_BYTES = 64 * 1024;
const ALLOWED_DOCS = new Set(['README', 'README.md']);

type ReadResult = { bytes: Buffer } | { problem: Omit<Problem, 'file'> };

/**
 * The one size cap of a release or policy file, for the bytes read from disk and the text `new`
 * would write. Stops a huge file from being read whole and parsed (memory, time) in CI.
 */
export function fileSizeProblem(size: number): Omit<Problem, 'file'> | null {
  if (size <= MAX_FILE_BYTES) return null;
  return {
    severity: 'error',
    code: 'FILE_TOO_LARGE',
    message: `the file is ${size} bytes; at most ${MAX_FILE_BYTES} (64 KiB) are allowed: shorten release_notes or link a changelog`,
  };
}

/** Reads a regular file without following a link, and never more than one byte past the size cap. */
function readCapped(path: string, cap = MAX_FILE_BYTES, capProblem = fileSizeProblem): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      return {
        problem: {
          severity: 'error',
          code: 'RELEASES_SYMLINK',
          message: 'this is a symbolic link; links are never followed: replace it with the file itself',
        },
      };
    throw new ExternalError('READ_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      return {
        problem: {
          severity: 'error',
          code: 'RELEASES_UNEXPECTED_ENTRY',
          message: 'this is not a regular file; expected only release files, policy.yaml and a README',
        },
      };
    // One byte more than expected shows a file past the cap, or one that grew while it was read.
    const buf = Buffer.allocUnsafe(Math.min(st.size, cap) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0 || n + r >= buf.length) {
        n += r;
        break;
      }
      n += r;
    }
    const tooLarge = capProblem(Math.max(st.size, n));
    if (tooLarge !== null) return { problem: tooLarge };
    return { bytes: buf.subarray(0, n) };
  } finally {
    closeSync(fd);
  }
}

function entryProblem(file: string, entry: Dirent): Problem | null {
  const name = entry.name;
  if (entry.isSymbolicLink())
    return {
      severity: 'error',
      code: 'RELEASES_SYMLINK',
      file,
      message: 'this is a symbolic link; links are never followed: replace it with the file itself',
    };
  if (entry.isDirectory())
    return {
      severity: 'error',
      code: 'RELEASES_NESTED',
      file,
      message:
        'folders inside releases/ are not read; expected release files directly in releases/: move its files up or remove it',
    };
  if (!entry.isFile())
    return {
      severity: 'error',
      code: 'RELEASES_UNEXPECTED_ENTRY',
      file,
      message: 'this is not a regular file; expected only release files, policy.yaml and a README',
    };
  if (name === POLICY_FILE || ALLOWED_DOCS.has(name)) return null;
  if (name.endsWith('.yml'))
    return {
      severity: 'error',
      code: 'RELEASE_FILE_EXTENSION',
      file,
      message: `release files end in .yaml; rename it to ${name.slice(0, -4)}.yaml`,
    };
  if (name.endsWith('.yaml')) {
    const base = name.slice(0, -5);
    if (!isVersion(base))
      return {
        severity: 'error',
        code: 'RELEASE_FILE_NAME',
        file,
        message: `"${name}" is not named <version>.yaml; expected e.g. 1.0.3.yaml: rename it after the version it holds`,
      };
    return null;
  }
  return {
    severity: 'error',
    code: 'RELEASES_UNEXPECTED_ENTRY',
    file,
    message: `"${name}" does not belong in releases/; expected only <version>.yaml files, policy.yaml and a README: move or delete it`,
  };
}

export interface LoadOptions {
  /** the releases folder; default <root>/releases */
  releasesDir?: string;
  /** when the releases are read, for the share a schedule has in force (default: the clock) */
  now?: Date;
}

/**
 * The repository root for a command run in `cwd`: the nearest folder, `cwd` or above, with
 * releases/policy.yaml (as git finds .git), so a command typed inside releases/ or docs/ works;
 * `cwd` itself when none has one (the error then names the folder it expected).
 */
export function findRepositoryRoot(cwd: string): string {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'releases', POLICY_FILE))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export async function loadReleaseSet(root: string, opts: LoadOptions = {}): Promise<ReleaseSet> {
  const now = (opts.now ?? new Date()).getTime();
  // --releases is relative to where the command was typed; without it the root is looked for.
  const absRoot = opts.releasesDir === undefined ? findRepositoryRoot(root) : resolve(root);
  const dir = resolve(absRoot, opts.releasesDir ?? 'releases');
  const rel = (p: string) => relative(absRoot, p) || p;
  const policyPath = join(dir, POLICY_FILE);
  const relDir = rel(dir);
  const problems: Problem[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Called wrongly (exit 2), not invalid releases: no folder, or a file where the folder should be.
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SettingsError(
        `the releases folder ${dir} ${code === 'ENOTDIR' ? 'is not a folder' : 'does not exist'}; run from the repository root, or pass --releases DIR (the folder with policy.yaml and the <version>.yaml files)`,
        'RELEASES_DIR_MISSING',
      );
    }
    problems.push({
      severity: 'error',
      code: 'RELEASES_DIR_MISSING',
      file: rel(dir),
      message: `cannot read the releases folder: ${(err as Error).message}`,
    });
    return { dir, root: absRoot, policy: null, policyFile: rel(policyPath), releases: [], rings: {}, problems };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  let policy = null;
  const policyEntry = entries.find((e) => e.name === POLICY_FILE);
  if (policyEntry === undefined) {
    problems.push({
      severity: 'error',
      code: 'POLICY_MISSING',
      file: rel(policyPath),
      message:
        "releases/policy.yaml is missing; expected the policy (allowed URL prefixes, channels, trusted keys): restore it from git, or start a new organisation's with mngd-release init --url-prefix URL",
    });
  } else {
    const p = entryProblem(rel(policyPath), policyEntry);
    const read = p ? null : readCapped(policyPath);
    if (p) problems.push(p);
    else if (read && 'problem' in read) problems.push({ ...read.problem, file: rel(policyPath) });
    else if (read) {
      const parsed = parsePolicy(rel(policyPath), read.bytes);
      policy = parsed.policy;
      problems.push(...parsed.problems);
    }
  }

  const releases: LoadedRelease[] = [];
  for (const entry of entries) {
    if (entry.name === POLICY_FILE) continue;
    const path = join(dir, entry.name);
    const file = `${relDir}/${entry.name}`;
    const p = entryProblem(file, entry);
    if (p) {
      problems.push(p);
      continue;
    }
    if (!entry.name.endsWith('.yaml')) continue; // README
    const read = readCapped(path);
    if ('problem' in read) {
      problems.push({ ...read.problem, file });
      continue;
    }
    const parsed = parseRelease(file, entry.name, read.bytes, policy, now);
    problems.push(...parsed.problems);
    if (parsed.loaded) releases.push(parsed.loaded);
  }
  const rings = policy === null ? {} : readRings(absRoot, policy, policyPath, rel, problems);
  if (policy !== null && Object.keys(rings).length > 0) policy = { ...policy, ring_members: rings };
  problems.push(...crossFileProblems(releases, policy));
  const sorted = sortNewestFirst(releases, (r) => r.release.version);
  return {
    dir,
    root: absRoot,
    policy,
    policyFile: rel(policyPath),
    releases: sorted,
    rings,
    problems: sortProblems(problems),
  };
}

const ringFileTooLarge = (size: number): Omit<Problem, 'file'> | null =>
  size <= MAX_RING_FILE_BYTES
    ? null
    : {
        severity: 'error',
        code: 'RING_TOO_LARGE',
        message: `the ring file is ${size} bytes; at most ${MAX_RING_FILE_BYTES} (1,000 ids and comments): keep a canary ring small`,
      };

/**
 * Each ring the policy names, its members hashed as manifests carry them: the plain device ids
 * are read and hashed here, and kept nowhere (no later step, log or summary can show one).
 */
function readRings(
  root: string,
  policy: Policy,
  policyPath: string,
  rel: (p: string) => string,
  problems: Problem[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, ring] of Object.entries(policy.rings ?? {})) {
    const path = resolve(root, ring.device_ids_file);
    const file = rel(path);
    if (!existsSync(path)) {
      problems.push({
        severity: 'error',
        code: 'RING_FILE_MISSING',
        file: rel(policyPath),
        message: `rings.${name}.device_ids_file names ${ring.device_ids_file}, which does not exist (paths are from the repository root); expected a file of device ids, one per line: create it, or fix the path`,
      });
      continue;
    }
    const read = readCapped(path, MAX_RING_FILE_BYTES, ringFileTooLarge);
    if ('problem' in read) {
      problems.push({ ...read.problem, file });
      continue;
    }
    const parsed = parseRingFile(read.bytes.toString('utf8'));
    const codes = {
      malformed: 'RING_MALFORMED_LINE',
      duplicate: 'RING_DUPLICATE_ID',
      too_many: 'RING_TOO_LARGE',
    } as const;
    for (const p of parsed.problems)
      problems.push({ severity: 'error', code: codes[p.kind], file, line: p.line, column: 1, message: p.message });
    out[name] = parsed.ids;
  }
  // The policy schema requires ring_salt with rings.
  return hashedRings(policy.ring_salt ?? '', out);
}
