/**
 * launchd for the demo's Macs: keeps each device's `mngd-agent run` running as the LaunchDaemon
 * does (KeepAlive: an agent that exits after an install is started again, now the version just
 * installed), and restarts it when the installed version changes under it, as the pkg's
 * postinstall does. A version listed as broken runs a stand-in instead of the agent
 * (broken-agent.sh): a build that broke the updater, which starts but never checks or checks in.

 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchOf } from '../package/launch.js';
import type { Device, Fleet } from './fleet.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BROKEN_AGENT = join(ROOT, 'scripts', 'demo', 'broken-agent.sh');

export interface LaunchdOptions {
  fleet: Fleet;
  /** flags of `mngd-agent run` besides the fleet's (checkin URL, Mac tools, timing) */
  runFlags: string[];
  /** versions whose build broke the updater */
  broken?: ReadonlySet<string>;
}

interface Job {
  device: Device;
  child: ChildProcess | null;
  version: string;
  broken: boolean;
  stopping: boolean;
  watcher: FSWatcher;
  exited: Promise<void>;
}

export class Launchd {
  /** every process started, so a caller can prove none is left running */
  readonly pids: number[] = [];
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly opts: LaunchdOptions) {}

  /** Loads the device's daemon: its agent runs (and is kept running) until stop(). */
  start(d: Device): void {
    if (this.jobs.has(d.id)) return;
    const job: Job = {
      device: d,
      child: null,
      version: '',
      broken: false,
      stopping: false,
      // postinstall's restart: a new version under a stand-in that will never exit by itself
      watcher: watch(d.versionFile, () => {
        if (job.broken && this.opts.fleet.version(d) !== job.version) job.child?.kill('SIGTERM');
      }),
      exited: Promise.resolve(),
    };
    this.jobs.set(d.id, job);
    this.spawn(job);
  }

  private spawn(job: Job): void {
    const d = job.device;
    job.version = this.opts.fleet.version(d);
    job.broken = this.opts.broken?.has(job.version) ?? false;
    const run = job.broken
      ? { command: BROKEN_AGENT, args: [job.version], env: process.env }
      : launchOf('mngd-agent', ['run', ...this.opts.fleet.agentFlags(d), ...this.opts.runFlags], {
          ...process.env,
          ...this.opts.fleet.opts.env,
        });
    // Its log file tells what it did (the agent mirrors it to stderr).
    const child = spawn(run.command, run.args, { env: run.env, stdio: 'ignore' });
    job.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    job.exited = new Promise((resolve) =>
      child.once('exit', () => {
        job.child = null;
        // KeepAlive: started again, as what is installed now
        if (!job.stopping) this.spawn(job);
        resolve();
      }),
    );
  }

  /** Unloads the device's daemon: SIGTERM, and waits for its agent to exit. */
  async stop(d: Device): Promise<void> {
    const job = this.jobs.get(d.id);
    if (job === undefined) return;
    this.jobs.delete(d.id);
    job.stopping = true;
    job.watcher.close();
    job.child?.kill('SIGTERM');
    await job.exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.opts.fleet.devices.map((d) => this.stop(d)));
  }
}
