/**
 * The agent's private state folder (mode 0700):
 *   state.json      the highest manifest accepted, the cached manifest's ETag, package cool-downs
 *   manifest.json   the bytes of the last verified manifest (re-verified on every 304)
 *   state-v2.json, manifest-v2.json   the same for a spec-2 agent: each spec has its own
 *                   sequence, so its rollback mark never meets the other's
 *   device-id       a random id made once: the device's rollout cohort
 *   downloads/      packages being downloaded (<sha256>.partial) and verified (<sha256>.pkg)
 * Every write goes to a temporary file first and is renamed into place, so a kill at any moment
 * leaves the old or the new file, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalError, messageOf } from '../schema/errors.js';
import { marksFromStored, type AcceptedMarks } from '../schema/accepted-marks.js';
import { asDiskFull } from './disk-full.js';
import type { Logger } from './log.js';

export interface Cooldown {
  version: string;
  failures: number;
  /** ISO time until which the package is not tried again; null while below three failures */
  until: string | null;
}

export interface AgentState {
  /** the rollback marks, per signing key (schema/accepted-marks.ts); a record of before is read as one legacy mark */
  accepted: AcceptedMarks | null;
  manifest_etag: string | null;
  /** by package sha256 */
  cooldowns: Record<string, Cooldown>;
}

export function emptyState(): AgentState {
  return { accepted: null, manifest_etag: null, cooldowns: {} };
}

export type StateErrorCode = 'STATE_DIR' | 'DISK_FULL';

/** Creates `dir` with mode 0700, or tightens it; refuses one owned by someone else. */
export async function privateDir(dir: string): Promise<void> {
  const refuse = (why: string) =>
    new ExternalError<StateErrorCode>(
      'STATE_DIR',
      `cannot use ${dir} as the private state folder: ${why}; fix or remove it`,
    );
  let st;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    st = await lstat(dir);
  } catch (err) {
    throw refuse(messageOf(err));
  }
  if (!st.isDirectory()) throw refuse('it is not a directory (a symbolic link is not followed)');
  // Threat: another local user planting or swapping a package between download and install.
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw refuse(`it is owned by uid ${st.uid}, not by this user (uid ${process.getuid()})`);
  }
  try {
    if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
  } catch (err) {
    throw refuse(messageOf(err));
  }
}

/**
 * Writes `data` to `path` through a temporary file, fsync and rename (mode 0600). On failure the
 * temporary file is removed (a full disk must not fill up further with *.tmp files) and a full
 * disk becomes DISK_FULL.
 */
export async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw asDiskFull(err, path);
  }
}

function isCooldown(x: unknown): x is Cooldown {
  const c = x as Cooldown;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.version === 'string' &&
    Number.isInteger(c.failures) &&
    (c.until === null || typeof c.until === 'string')
  );
}

/** Reads state.json; unreadable content is logged and replaced (the agent must not brick on it). */
function parseState(text: string): AgentState | null {
  try {
    const d = JSON.parse(text) as Partial<AgentState>;
    const s = emptyState();
    s.accepted = marksFromStored(d.accepted);
    if (typeof d.manifest_etag === 'string') s.manifest_etag = d.manifest_etag;
    for (const [sha, c] of Object.entries(d.cooldowns ?? {})) if (isCooldown(c)) s.cooldowns[sha] = c;
    return s;
  } catch {
    return null;
  }
}

export class StateStore {
  readonly dir: string;
  readonly downloads: string;
  private readonly stateFile: string;
  private readonly manifestFile: string;

  constructor(dir: string, spec: 1 | 2 = 1) {
    this.dir = dir;
    this.downloads = join(dir, 'downloads');
    this.stateFile = join(dir, spec === 1 ? 'state.json' : 'state-v2.json');
    this.manifestFile = join(dir, spec === 1 ? 'manifest.json' : 'manifest-v2.json');
  }

  async init(): Promise<void> {
    await privateDir(this.dir);
    await privateDir(this.downloads);
  }

  async read(log?: Logger): Promise<AgentState> {
    let text: string;
    try {
      text = await readFile(this.stateFile, 'utf8');
    } catch {
      return emptyState();
    }
    const s = parseState(text);
    if (s === null) {
      log?.warn(
        `SelfUpdate: state: ${this.stateFile} is unreadable; starting from an empty state (the cached manifest is dropped)`,
      );
      await rm(this.manifestFile, { force: true });
      return emptyState();
    }
    return s;
  }

  async write(state: AgentState): Promise<void> {
    await writeAtomic(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  async readCachedManifest(): Promise<Buffer | null> {
    try {
      return await readFile(this.manifestFile);
    } catch {
      return null;
    }
  }

  async writeCachedManifest(bytes: Buffer): Promise<void> {
    await writeAtomic(this.manifestFile, bytes);
  }

  async dropCachedManifest(): Promise<void> {
    await rm(this.manifestFile, { force: true });
  }

  /** The stable device id, created once. */
  async deviceId(): Promise<string> {
    const path = join(this.dir, 'device-id');
    try {
      const id = (await readFile(path, 'utf8')).trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // not created yet
    }
    const id = randomBytes(16).toString('hex');
    await writeAtomic(path, `${id}\n`);
    return id;
  }
}
