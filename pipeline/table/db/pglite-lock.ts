/**
 * One process at a time on an embedded PGlite folder. PGlite itself takes no lock: two processes
 * that open the same folder both write it and corrupt the database. A lock file beside the folder
 * names the holder's pid; a holder that died leaves a stale file, which the next opener replaces.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { ExternalError } from '../../../schema/errors.js';
import { processAlive } from '../../process-alive.js';

async function create(file: string): Promise<boolean> {
  try {
    const h = await open(file, 'wx');
    await h.writeFile(`${process.pid}\n`);
    await h.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Takes `<dir>.lock`; returns the release. Throws DB_UNAVAILABLE while another live process holds it. */
export async function lockPgliteDir(dir: string): Promise<() => Promise<void>> {
  const file = `${dir}.lock`;
  const release = () => rm(file, { force: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await create(file)) return release;
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) {
      throw new ExternalError(
        'DB_UNAVAILABLE',
        `the embedded database in ${dir} is in use by process ${pid} (another mngd-release or the demo); wait for it to finish, or stop it, and run again`,
      );
    }
    await rm(file, { force: true }); // stale: its holder is gone
  }
  throw new ExternalError(
    'DB_UNAVAILABLE',
    `could not take the lock ${file} on the embedded database: another process keeps taking it; run again`,
  );
}
