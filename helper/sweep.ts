/**
 * The start sweep of the staging folder: a helper killed while it copied a package (or while its
 * installer ran) leaves the copy behind, up to a package's size per crash. At start, everything
 * in staging goes, except the copy an earlier helper's installer still reads (install-marker.ts).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './log.js';

/** Removes what is in `stagingDir` but `keep` (a file name); returns how many entries went. */
export async function sweepStaging(stagingDir: string, keep: string | null, log: Logger): Promise<number> {
  const st = await fs.lstat(stagingDir).catch(() => null);
  // Only our own real folder: a link or someone else's folder is not read (ensureStagingDir
  // re-creates it before the next install anyway).
  if (st === null || !st.isDirectory() || st.uid !== (process.getuid?.() ?? 0)) return 0;
  const names = (await fs.readdir(stagingDir)).filter((n) => n !== keep);
  await Promise.all(names.map((n) => fs.rm(join(stagingDir, n), { recursive: true, force: true })));
  if (names.length > 0)
    log.warn(
      `SelfUpdate: helper removed ${names.length} stale staged cop${names.length === 1 ? 'y' : 'ies'} from ${stagingDir} (left by a helper stopped while staging or installing)`,
    );
  return names.length;
}
