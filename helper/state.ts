/** What the helper reads and remembers on disk: the installed version and the highest manifest accepted. */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { marksFromStored, type AcceptedMarks } from '../schema/accepted-marks.js';
import { InternalError } from '../schema/errors.js';
import { isVersion } from '../schema/version.js';

/** The installed version from the version file, or null when it is missing or not a version. */
export async function readInstalledVersion(versionFile: string): Promise<string | null> {
  let text: string;
  try {
    text = await fs.readFile(versionFile, 'utf8');
  } catch {
    return null;
  }
  const v = text.trim();
  return isVersion(v) ? v : null;
}

export interface AcceptedStore {
  /** the rollback marks per signing key (schema/accepted-marks.ts), or null before the first */
  read(): Promise<AcceptedMarks | null>;
  write(marks: AcceptedMarks): Promise<void>;
  /**
   * Runs `fn` alone: no other `exclusive` section of this store runs meanwhile. A manifest from
   * the agent and an install are verified, remembered and acted on one at a time, so an install
   * never goes on from a manifest older than one accepted while it was being checked.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Remembers the highest manifest sequence accepted, per channel and spec, so an older one is
 * refused (rollback). Each spec has its own sequence, so each has its own record.
 */
export function fileAcceptedStore(stateDir: string, channel: string, spec: 1 | 2 = 1): AcceptedStore {
  const file = join(stateDir, spec === 1 ? `accepted-${channel}.json` : `accepted-v2-${channel}.json`);
  let tail: Promise<unknown> = Promise.resolve();
  return {
    exclusive(fn) {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    },
    async read() {
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      const marks = marksFromStored(JSON.parse(text));
      if (marks === null) {
        throw new InternalError(`${file} is not a record of an accepted manifest; delete it to start over`);
      }
      return marks;
    },
    async write(accepted) {
      await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(accepted) + '\n', { mode: 0o600 });
      await fs.rename(tmp, file); // atomic: a crash never leaves half a record
    },
  };
}
