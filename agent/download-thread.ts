/**
 * The download thread, kept between downloads: `mngd-agent run` downloads one package after
 * another for days, and a new worker thread per package (a V8 isolate and its heaps each time)
 * left the process at 114-139 MiB RSS in the soak (bench/agent-soak), against a single download's
 * 83-86 MiB. So a PackageFile takes the idle thread if there is one and gives it back when its
 * download finished cleanly; a thread that failed or crashed is terminated, never reused. The
 * idle thread is unref'd: it never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import { DOWNLOAD_WORKER } from './embedded.js';

/** It holds one block at a time and no JS objects to speak of. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 };

let idle: Worker | null = null;

/** A thread running the download worker (`module`: tests pass another), the idle one when it can be. */
export function takeDownloadThread(module: URL | { code: string } = DOWNLOAD_WORKER): Worker {
  if (module === DOWNLOAD_WORKER && idle !== null) {
    const worker = idle;
    idle = null;
    worker.ref();
    return worker;
  }
  const worker = new Worker(module instanceof URL ? module : module.code, {
    eval: !(module instanceof URL),
    resourceLimits: RESOURCE_LIMITS,
    stdout: false,
    stderr: false,
  });
  // An idle thread that dies (it never should) is simply not there for the next download.
  worker.once('exit', () => {
    if (idle === worker) idle = null;
  });
  return worker;
}

/** Hands a thread back after a clean download: kept if none is, else terminated. */
export function giveBackDownloadThread(worker: Worker, module: URL | { code: string } = DOWNLOAD_WORKER): void {
  if (module === DOWNLOAD_WORKER && idle === null) {
    worker.unref();
    idle = worker;
    return;
  }
  void worker.terminate();
}

/** The idle thread's id, or null when none is kept (for tests). */
export function idleDownloadThreadId(): number | null {
  return idle?.threadId ?? null;
}
