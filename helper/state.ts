/** What the helper reads and remembers on disk: the installed version and the highest manifest accepted. */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { marksFromStored, type AcceptedMarks } from '../schema/accepted-marks.js';
import { isVersion } from '../schema/version.js';
import { previousCopy, STATE_TORN, writeDurable } from './durable.js';
import { silentLogger, type Logger } from './log.js';

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

/** The rollback marks in `text`, or null when it holds none (torn, empty, damaged). */
function parseMarks(text: string | null): AcceptedMarks | null {
  if (text === null) return null;
  try {
    return marksFromStored(JSON.parse(text));
  } catch {
    return null;
  }
}

/** The highest sequence among the marks (for the log line). */
function highest(marks: AcceptedMarks): number {
  return Math.max(0, ...Object.values(marks).map((m) => m.sequence));
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return ''; // unreadable: as good as torn
  }
}

/**
 * Remembers the highest manifest sequence accepted, per channel and spec, so an older one is
 * refused (rollback). Each spec has its own sequence, so each has its own record. Written durably
 * (durable.ts) with the previous good record kept; the newest that reads is used. A torn or
 * unreadable file (STATE_TORN) is logged once and never stops an install of a manifest that
 * verifies: an INTERNAL on every install would stop self-update on that Mac until someone deleted
 * the file. The next accepted manifest rewrites it.
 */
export function fileAcceptedStore(
  stateDir: string,
  channel: string,
  spec: 1 | 2 = 1,
  log: Logger = silentLogger,
): AcceptedStore {
  const file = join(stateDir, spec === 1 ? `accepted-${channel}.json` : `accepted-v2-${channel}.json`);
  let tail: Promise<unknown> = Promise.resolve();
  let currentGood = false;
  let reported = false;
  return {
    exclusive(fn) {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    },
    async read() {
      const text = await readText(file);
      const current = parseMarks(text);
      const previous = parseMarks(await readText(previousCopy(file)));
      currentGood = current !== null;
      if (text !== null && current === null && !reported) {
        reported = true;
        log.warn(
          `SelfUpdate: helper state: ${file} is torn or unreadable [${STATE_TORN}]; ${previous === null ? 'no previous good copy, so any manifest that verifies is accepted' : `using the previous good copy (sequence ${highest(previous)})`}; it is rewritten with the next accepted manifest, nothing to do`,
        );
      }
      // The current record is the newer whenever it reads (it is written after the previous one
      // is kept); a rotation may have dropped marks, so "newer" is the order, not the sequence.
      return current ?? previous;
    },
    async write(accepted) {
      await writeDurable(file, JSON.stringify(accepted) + '\n', { mode: 0o600, keepCurrent: currentGood });
      currentGood = true;
      reported = false;
    },
  };
}
