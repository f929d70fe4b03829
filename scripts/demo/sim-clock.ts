/**
 * The demo's simulated wall clock: one file holding an offset from the real time, which every
 * agent and helper started with `env()` reads (sim-clock-preload.ts), and which the demo's own
 * pipeline runs read through `now()` (the CommandContext clock). `set(at)` moves them all at once:
 * the manifests are signed at a chosen time and the Macs check at a chosen time.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PRELOAD = fileURLToPath(new URL('./sim-clock-preload.js', import.meta.url));

export class SimClock {
  readonly file: string;
  private offset = 0;

  constructor(dir: string) {
    this.file = join(dir, 'clock-offset-ms');
    this.write();
  }

  /** From now on the simulated time is `at` (and runs on from there). */
  set(at: Date): void {
    this.offset = at.getTime() - Date.now();
    this.write();
  }

  now(): Date {
    return new Date(Date.now() + this.offset);
  }

  /** The environment that puts a child node process (an agent, a helper) on this clock. */
  env(): Record<string, string> {
    const options = [process.env['NODE_OPTIONS'] ?? '', `--import=${pathToFileURL(PRELOAD).href}`];
    return { MNGD_DEMO_CLOCK_FILE: this.file, NODE_OPTIONS: options.join(' ').trim() };
  }

  private write(): void {
    // Atomically: a helper reading the clock never sees a half-written file.
    writeFileSync(`${this.file}.next`, `${this.offset}\n`);
    renameSync(`${this.file}.next`, this.file);
  }
}
