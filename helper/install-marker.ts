/**
 * "One install at a time" across helper restarts. The installer runs detached (its own process
 * group, so a time-out kills everything it started), so a helper killed mid-install leaves it
 * running. Every installer run goes through around(): an install's and the health gate's rollback
 * reinstall of P alike. A durable marker (`<state dir>/install.json`), written before the installer starts,
 * names the staged package it will read (a fresh random name, on its command line) and its
 * deadline, then its pid and start time (so a pid reused after it ended is never taken for it).
 * A restarted helper answers BUSY while a process of that installer still runs (its pid, or any
 * root process whose command line names the staged package), kills it at its deadline as the old
 * helper would have, and once it is gone removes its staged copy and the marker.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { STATE_TORN, syncDir, writeDurable } from './durable.js';
import type { Logger } from './log.js';
import { HelperError } from './protocol.js';

export interface InstallMarker {
  /** the installer's pid, also its process group; null until it has started */
  pid: number | null;
  /** the installer's start time as the system reports it (identity: pids are reused) */
  started: string | null;
  staged: string;
  /** ISO time after which it is killed */
  deadline: string;
  helper_pid: number;
}

/** A process's start time: /proc where there is one (Linux), else `ps -o lstart=` (macOS); null when it is gone. */
export async function processStart(pid: number): Promise<string | null> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : `proc:${fields[19] ?? ''}`; // a zombie has ended
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await fs.stat('/proc/self').catch(() => null)))
      return null;
  }
  return new Promise((resolve) => {
    execFile('/bin/ps', ['-o', 'lstart=', '-p', String(pid)], (err, out) => {
      const t = out.trim();
      resolve(err !== null || t === '' ? null : `ps:${t}`);
    });
  });
}

/**
 * The pids of the helper's own uid's processes (root's: the installer and what it starts) whose
 * command line names `path` (the staged package: a random name). Another user's process naming it
 * is never that installer: counted, it would keep every install BUSY (and a takeover undecided).
 */
export function processesNaming(path: string): Promise<number[]> {
  const uid = process.getuid?.() ?? 0;
  return new Promise((resolve) => {
    execFile('/bin/ps', ['-A', '-o', 'pid=,uid=,args='], { maxBuffer: 16 * 1024 * 1024 }, (err, out) => {
      if (err !== null) return resolve([]);
      const pids = out
        .split('\n')
        .filter((l) => l.includes(path))
        .map((l) => /^\s*(\d+)\s+(\d+)\s/.exec(l))
        .filter((m) => m !== null && Number(m[2]) === uid)
        .map((m) => Number(m![1]))
        .filter((pid) => Number.isSafeInteger(pid) && pid > 1 && pid !== process.pid);
      resolve(pids);
    });
  });
}

function parseMarker(text: string): InstallMarker | null {
  try {
    const m = JSON.parse(text) as Partial<InstallMarker>;
    if (m.pid !== null && (!Number.isSafeInteger(m.pid) || (m.pid ?? 0) <= 1)) return null;
    if (typeof m.staged !== 'string' || typeof m.deadline !== 'string') return null;
    return {
      pid: m.pid ?? null,
      started: m.started ?? null,
      staged: m.staged,
      deadline: m.deadline,
      helper_pid: m.helper_pid ?? 0,
    };
  } catch {
    return null;
  }
}

export class InstallMarkerStore {
  readonly file: string;
  private current: InstallMarker | null = null;

  constructor(
    stateDir: string,
    private readonly stagingDir: string,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = join(stateDir, 'install.json');
  }

  /**
   * The one rule around every installer run, an install's (install.ts) and a rollback's reinstall
   * (main.ts): refused (BUSY) while an installer an earlier helper started still runs; this marker
   * written durably before the installer starts, its pid added as soon as it runs, and removed once
   * it has ended, whatever the outcome. `run` starts the installer on `staged`, telling `onStart` its pid.
   */
  async around<R>(staged: string, timeoutMs: number, run: (onStart: (pid: number) => void) => Promise<R>): Promise<R> {
    if (this.current !== null)
      throw new HelperError('BUSY', `an installer of this helper is running (${this.file}); retry after it finishes`);
    await this.refuseWhileOrphanRuns();
    await this.starting(staged, timeoutMs);
    let marking: Promise<void> = Promise.resolve();
    try {
      return await run((pid) => (marking = this.started(pid)));
    } finally {
      await marking.catch(() => undefined); // a marker that could not be written protects nothing
      await this.clear();
    }
  }

  /** Records, before it starts, the installer about to read `staged` (durably: it must outlive a kill of this helper). */
  private async starting(staged: string, timeoutMs: number): Promise<void> {
    const deadline = new Date(this.now().getTime() + timeoutMs).toISOString();
    this.current = { pid: null, started: null, staged, deadline, helper_pid: process.pid };
    await this.save(this.current);
  }

  /** Adds the pid of the installer just started. */
  private async started(pid: number): Promise<void> {
    if (this.current === null) return;
    this.current = { ...this.current, pid, started: await processStart(pid) };
    await this.save(this.current);
  }

  private save(m: InstallMarker): Promise<void> {
    return writeDurable(this.file, `${JSON.stringify(m)}\n`, { mode: 0o600, keepCurrent: false });
  }

  async clear(): Promise<void> {
    this.current = null;
    await fs.rm(this.file, { force: true });
    await syncDir(dirname(this.file)).catch(() => undefined);
  }

  async read(): Promise<InstallMarker | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    const m = parseMarker(text);
    if (m === null) {
      // Torn: written durably, so only a damaged disk does this. Nothing to go on: start over.
      this.log.warn(`SelfUpdate: helper state: ${this.file} is torn or unreadable [${STATE_TORN}]; removed`);
      await this.clear();
    }
    return m;
  }

  /** The staged file an earlier helper's installer still reads, or null: the start sweep keeps it. */
  async orphanStaged(): Promise<string | null> {
    const m = await this.read();
    return m !== null && (await this.running(m)).length > 0 ? basename(m.staged) : null;
  }

  /**
   * Throws BUSY while an installer started by an earlier helper still runs (killing it first when
   * past its deadline); once it has ended, removes its staged copy and the marker.
   */
  async refuseWhileOrphanRuns(): Promise<void> {
    // This helper's own installer (its rollback's, while an install is asked for): not an orphan;
    // the health gate answers BUSY for it, before anything is installed.
    if (this.current !== null) return;
    const m = await this.read();
    if (m === null) return;
    const pids = await this.running(m);
    if (pids.length > 0) {
      if (this.now().getTime() > Date.parse(m.deadline)) {
        for (const pid of pids) {
          try {
            process.kill(-pid, 'SIGKILL'); // its group: what it started too
          } catch {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }
        this.log.warn(
          `SelfUpdate: helper killed the installer of an earlier helper (pid ${pids.join(', ')}): it ran past its deadline ${m.deadline}`,
        );
      }
      throw new HelperError(
        'BUSY',
        `an installer started by an earlier helper (pid ${pids.join(', ')}, deadline ${m.deadline}) is still running; retry after it finishes`,
      );
    }
    // Only ever inside the staging folder, whatever the marker says.
    await fs.rm(join(this.stagingDir, basename(m.staged)), { force: true });
    await this.clear();
    this.log.info(
      `SelfUpdate: helper: the installer of an earlier helper (pid ${m.pid ?? 'not recorded'}) has ended; its staged copy is removed`,
    );
  }

  /** refuseWhileOrphanRuns() as a question: what still runs (the BUSY message), or null once it has ended (cleaned up). */
  async orphanRunning(): Promise<string | null> {
    try {
      await this.refuseWhileOrphanRuns();
      return null;
    } catch (err) {
      if (err instanceof HelperError && err.code === 'BUSY') return err.message;
      throw err;
    }
  }

  /** The installer's processes still running: its recorded pid (same start time), or any naming the staged copy. */
  private async running(m: InstallMarker): Promise<number[]> {
    const pids = new Set(await processesNaming(m.staged));
    if (m.pid !== null) {
      const now = await processStart(m.pid);
      if (now !== null && (m.started === null || now === m.started)) pids.add(m.pid);
    }
    return [...pids];
  }
}
