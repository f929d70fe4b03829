/**
 * The health gate's memory on disk (docs/helper.md, "Health gate"): the package each installed
 * version came from, kept root-only (`<state dir>/kept/<version>.pkg` with `<version>.json`, its
 * size and SHA-256) so the helper can put P back when N never proves healthy, and the `pending`
 * record (`<state dir>/pending.json`) of an install not yet proven healthy. Written durably
 * (durable.ts); a kept package is re-hashed before every use.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isQuarantined } from '../schema/quarantine.js';
import { compareVersions, isVersion } from '../schema/version.js';
import { STATE_TORN, syncDir, writeDurable, writeSynced } from './durable.js';
import type { Logger } from './log.js';
import { HelperError } from './protocol.js';
import { HEX64, isPending, pendingOf, type Pending, type PendingRead } from './pending.js';
import { ensureStagingDir } from './staging.js';

export type { Pending, RollbackCause } from './pending.js';
export { pendingOf } from './pending.js';

export interface KeptPackage {
  version: string;
  sha256: string;
  size: number;
}

function isKept(x: unknown): x is KeptPackage {
  const k = x as KeptPackage;
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof k.version === 'string' &&
    isVersion(k.version) &&
    typeof k.sha256 === 'string' &&
    HEX64.test(k.sha256) &&
    Number.isSafeInteger(k.size)
  );
}

/** SHA-256 and size of a file opened without following a link. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    let size = 0;
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await h.close();
  }
}

export class KeptStore {
  readonly dir: string;
  readonly pendingFile: string;

  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(stateDir, 'kept');
    this.pendingFile = join(stateDir, 'pending.json');
  }

  pkgPath(version: string): string {
    return join(this.dir, `${version}.pkg`);
  }

  private metaPath(version: string): string {
    return join(this.dir, `${version}.json`);
  }

  /** What was recorded of the kept package of `version`, or null (none, or unreadable). */
  async meta(version: string): Promise<KeptPackage | null> {
    try {
      const data = JSON.parse(await fs.readFile(this.metaPath(version), 'utf8')) as unknown;
      return isKept(data) && data.version === version ? data : null;
    } catch {
      return null;
    }
  }

  /**
   * The kept package of `version`, re-hashed now: its record, or why it cannot be used (missing,
   * or not the bytes recorded: tampered with or damaged).
   */
  async verified(version: string): Promise<{ ok: true; kept: KeptPackage } | { ok: false; why: string }> {
    const meta = await this.meta(version);
    if (meta === null) return { ok: false, why: `no kept package of ${version} in ${this.dir}` };
    let actual: { sha256: string; size: number };
    try {
      actual = await hashFile(this.pkgPath(version));
    } catch (err) {
      return { ok: false, why: `${this.pkgPath(version)} cannot be read (${(err as NodeJS.ErrnoException).code})` };
    }
    if (actual.size !== meta.size || actual.sha256 !== meta.sha256)
      return {
        ok: false,
        why: `${this.pkgPath(version)} is not the package kept (SHA-256 ${meta.sha256}, ${meta.size} bytes): it was changed or damaged`,
      };
    return { ok: true, kept: meta };
  }

  /**
   * Keeps a verified package (the staged copy the installer just ran on) as the one `kept.version`
   * came from: copied, fsynced and re-hashed before its record is written (the record is the
   * commit: a package without one is never used).
   */
  async keep(staged: string, kept: KeptPackage): Promise<void> {
    await ensureStagingDir(this.dir); // root-only 0700, re-created when its mode or owner is wrong
    const tmp = await writeSynced(this.pkgPath(kept.version), '', 0o600);
    try {
      await fs.copyFile(staged, tmp);
      const h = await fs.open(tmp, 'r+');
      await h.sync().finally(() => h.close());
      const actual = await hashFile(tmp);
      if (actual.sha256 !== kept.sha256 || actual.size !== kept.size)
        throw new HelperError(
          'PKG_HASH_MISMATCH',
          `the copy of ${staged} kept as ${kept.version} does not hash as installed; nothing is kept`,
        );
      await fs.rename(tmp, this.pkgPath(kept.version));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await syncDir(this.dir);
    await writeDurable(this.metaPath(kept.version), JSON.stringify(kept) + '\n', { mode: 0o600, keepCurrent: false });
  }

  /** Removes every kept package but those of `versions`. */
  async keepOnly(versions: readonly string[]): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const wanted = new Set(versions.flatMap((v) => [`${v}.pkg`, `${v}.json`]));
    for (const n of names) if (!wanted.has(n)) await fs.rm(join(this.dir, n), { force: true, recursive: true });
  }

  /** The newest kept version other than `except` and not `quarantined` (the one to go back to when a pending record is torn). */
  async newestOtherThan(except: string, quarantined: readonly string[]): Promise<KeptPackage | null> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const metas: KeptPackage[] = [];
    for (const n of names) {
      const v = n.endsWith('.json') ? n.slice(0, -5) : null;
      if (v === null || v === except || !isVersion(v) || isQuarantined(v, quarantined)) continue;
      const m = await this.meta(v);
      if (m !== null) metas.push(m);
    }
    metas.sort((a, b) => compareVersions(b.version, a.version));
    return metas[0] ?? null;
  }

  private get quarantineFile(): string {
    return join(this.pendingFile, '..', 'quarantine.json');
  }

  /** The versions rolled back on this Mac (never offered again). An unreadable file is none, logged. */
  async quarantined(): Promise<string[]> {
    let text: string;
    try {
      text = await fs.readFile(this.quarantineFile, 'utf8');
    } catch {
      return [];
    }
    try {
      const d = JSON.parse(text) as { versions?: unknown };
      if (Array.isArray(d.versions))
        return d.versions.filter((v): v is string => typeof v === 'string' && isVersion(v));
    } catch {
      // torn: said below
    }
    this.log.warn(
      `SelfUpdate: helper state: ${this.quarantineFile} is torn or unreadable [${STATE_TORN}]; no version is quarantined`,
    );
    return [];
  }

  async quarantine(version: string): Promise<void> {
    const q = await this.quarantined();
    if (q.includes(version)) return;
    await writeDurable(this.quarantineFile, JSON.stringify({ versions: [...q, version] }) + '\n', {
      mode: 0o600,
      keepCurrent: false,
    });
  }

  async readPending(): Promise<PendingRead> {
    let text: string;
    try {
      text = await fs.readFile(this.pendingFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
      return { state: 'torn' };
    }
    try {
      const data = JSON.parse(text) as unknown;
      return isPending(data) ? { state: 'ok', pending: data } : { state: 'torn' };
    } catch {
      return { state: 'torn' };
    }
  }

  async writePending(p: Pending): Promise<void> {
    await writeDurable(this.pendingFile, JSON.stringify(p) + '\n', { mode: 0o600, keepCurrent: false });
  }

  async clearPending(): Promise<void> {
    await fs.rm(this.pendingFile, { force: true });
    await syncDir(join(this.pendingFile, '..')).catch(() => undefined);
  }

  /**
   * The pending record as the helper finds it at start. A torn one (a power loss on a disk that
   * lied about fsync, a half restore) is logged STATE_TORN and rebuilt from what is on disk: `to`
   * is the installed version, `from` the newest other kept package not quarantined, with a fresh deadline; with
   * no other package kept, or the installed version being that package, it is removed (nothing
   * to go back to, or nothing was installed yet).
   */
  async pendingAtStart(installed: string | null, deadlineS: number, now: Date): Promise<Pending | null> {
    const read = await this.readPending();
    if (read.state === 'ok') return read.pending;
    if (read.state === 'none') return null;
    // Never a version rolled back here as the one to go back to (kept anyway: a half restore).
    const back = installed === null ? null : await this.newestOtherThan(installed, await this.quarantined());
    const to = installed === null ? null : await this.meta(installed);
    if (installed === null || back === null || to === null) {
      this.log.warn(
        `SelfUpdate: helper state: ${this.pendingFile} is torn or unreadable [${STATE_TORN}]; nothing kept to go back to, so it is removed and ${installed ?? 'the installed version'} stands`,
      );
      await this.clearPending();
      return null;
    }
    const rebuilt = pendingOf(back.version, to, deadlineS, now);
    await this.writePending(rebuilt);
    this.log.warn(
      `SelfUpdate: helper state: ${this.pendingFile} is torn or unreadable [${STATE_TORN}]; rebuilt as ${back.version} -> ${installed} with a fresh deadline of ${deadlineS} s`,
    );
    return rebuilt;
  }
}
