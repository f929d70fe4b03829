/**
 * Durable writes for the helper's state files: a file is written whole to a fresh temporary
 * name, fsynced, renamed into place, and the folder fsynced, so after a crash or a power loss
 * the name holds the old record or the new one, never half of one. The previous good record is
 * kept beside it (`<file>.prev`): a file torn anyway (a disk that lies about fsync, a restore
 * from a half backup) still leaves the reader a good copy.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';

/** The log code of a state file found torn or unreadable (logged, never a reply). */
export const STATE_TORN = 'STATE_TORN';

export function previousCopy(file: string): string {
  return `${file}.prev`;
}

/** fsyncs a folder, so the renames inside it survive a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Writes `data` to a fresh temporary file beside `file` and fsyncs it; returns its name. */
export async function writeSynced(file: string, data: string, mode: number): Promise<string> {
  await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const h = await fs.open(tmp, 'wx', mode);
  try {
    await h.writeFile(data);
    await h.sync();
  } catch (err) {
    await h.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await h.close();
  return tmp;
}

/**
 * Replaces `file` with `data` durably. When `keepCurrent` (the file on disk holds a good
 * record), that record becomes `<file>.prev` first (a hard link, so `file` is never missing);
 * a torn one is never kept as the previous good copy.
 */
export async function writeDurable(
  file: string,
  data: string,
  opts: { mode: number; keepCurrent: boolean },
): Promise<void> {
  const tmp = await writeSynced(file, data, opts.mode);
  try {
    if (opts.keepCurrent) await keepAsPrevious(file, tmp);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(file));
}

async function keepAsPrevious(file: string, tmp: string): Promise<void> {
  const link = `${tmp}.prev`;
  try {
    await fs.link(file, link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing there yet
    throw err;
  }
  await fs.rename(link, previousCopy(file));
}
