/**
 * A local directory as an object store (the embedded default target, and a CDN origin that a
 * plain web server can serve). Writes are atomic (temp file + rename, so a reader never sees half a
 * manifest) and honour the write condition under a per-object lock file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { messageOf } from '../../../schema/errors.js';
import { processAlive } from '../../process-alive.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  checkKey,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

/** A lock older than this was left by a crashed run, not held by a live one. */
const STALE_LOCK_MS = 60_000;

export function etagOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class DirectoryStore implements ObjectStore {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = root;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async get(key: string): Promise<StoredObject | null> {
    const file = this.path(key);
    try {
      const body = await readFile(file);
      return { body, etag: etagOf(body) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw new StoreUnavailableError(`cannot read ${file}: ${messageOf(err)}`, { cause: err });
    }
  }

  async put(key: string, body: Buffer, opts: PutOptions): Promise<string> {
    const file = this.path(key);
    try {
      await mkdir(dirname(file), { recursive: true });
    } catch (err) {
      throw new StoreUnavailableError(`cannot create the directory of ${file}: ${messageOf(err)}`, { cause: err });
    }
    const lock = `${file}.lock`;
    await this.acquire(lock, key);
    try {
      const condition = opts.condition;
      if (condition !== undefined) {
        const current = await this.get(key);
        const ok = 'ifMatch' in condition ? current !== null && current.etag === condition.ifMatch : current === null;
        if (!ok) throw new StoreConflictError(this.location, key);
      }
      const temp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(temp, body, { flush: true });
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true });
        throw new StoreUnavailableError(`cannot write ${file}: ${messageOf(err)}`, { cause: err });
      }
      return etagOf(body);
    } finally {
      await rm(lock, { force: true });
    }
  }

  /**
   * Takes `<object>.lock`, which names its holder (pid and host). A lock whose holder is gone
   * (killed: `kill -9` of publish or apply) is taken over at once; one of another host, or
   * without a holder, only after STALE_LOCK_MS. A live holder is named in the conflict.
   */
  private async acquire(lock: string, key: string, retried = false): Promise<void> {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid} ${hostname()}\n`);
      await handle.close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreUnavailableError(`cannot create the lock ${lock}: ${messageOf(err)}`, { cause: err });
      }
      const [pidText, host] = (await readFile(lock, 'utf8').catch(() => '')).trim().split(' ');
      const pid = Number.parseInt(pidText ?? '', 10);
      const ours = host === hostname() && Number.isSafeInteger(pid) && pid > 0;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (!retried && ((ours && !processAlive(pid)) || age > STALE_LOCK_MS)) {
        await rm(lock, { force: true });
        return this.acquire(lock, key, true);
      }
      // Another publisher holds it right now: the same as a lost conditional write.
      const holder = ours
        ? `process ${pid}`
        : host !== undefined && host !== ''
          ? `process ${pidText} on ${host}`
          : null;
      throw new StoreConflictError(this.location, key, { cause: err, ...(holder !== null ? { holder } : {}) });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.path(prefix.replace(/\/+$/, ''));
    const out: string[] = [];
    const walk = async (d: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(d, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw new StoreUnavailableError(`cannot list ${d}: ${messageOf(err)}`, { cause: err });
      }
      for (const e of entries) {
        // temp files and locks are ours, never objects
        if (e.name.startsWith('.') || e.name.endsWith('.lock')) continue;
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    await walk(dir);
    return out;
  }
}
