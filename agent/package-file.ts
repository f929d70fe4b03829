/**
 * The file a package downloads into. Chunks are gathered into 1 MiB blocks on the main thread;
 * each block is handed (transferred, not copied) to a worker thread that hashes it and writes it
 * at its position (agent/package-file.worker.ts), so SHA-256 and the disk run beside the TLS
 * decryption instead of after it. Blocks are hashed and written in order, so the file on disk is
 * always a prefix of the download (a kill leaves a partial that can be resumed), and at most
 * MAX_QUEUED blocks wait: `add` then returns a promise, which pauses the socket.
 *
 * A package of at most INLINE_MAX bytes is hashed and written on the main thread instead, by the
 * same BlockWriter: starting a worker (~15 ms) would cost more than it saves.
 */
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../schema/errors.js';
import { openBlockWriter, type BlockWriter } from './block-writer.js';
import { DOWNLOAD_WORKER } from './embedded.js';
import { minorGc } from './gc.js';
import type { FromWorker, ToWorker, WorkerInit } from './package-file.worker.js';

const BLOCK = 1 << 20;
const MAX_QUEUED = 3;
/**
 * Blocks kept for the next download: `run` downloads one package after another, and a fresh set
 * of 1 MiB buffers each time (outside V8's heap, freed only by a GC) raised its RSS by ~10 MiB per
 * package in the soak (bench/agent-soak). As many as one download uses: its queue, the block
 * being filled, the one coming back.
 */
const spare: ArrayBuffer[] = [];
const MAX_SPARE = MAX_QUEUED + 2;
/** Packages up to this size are written inline (the fleet bench: 30 s for 10,000 checks, 45 s with a worker each). */
export const INLINE_MAX = 8 << 20;
/**
 * Every 16 KiB TLS chunk is a buffer outside V8's heap that only a scavenge frees, and the young
 * generation fills only every ~20 MiB of them: peak memory would grow by that much. Where the bin
 * runs with --expose-gc (agent/cli.ts), a minor GC every GC_BLOCKS blocks keeps them to a few
 * MiB. Each costs ~0.35 ms of the main thread, 0.35 s per GiB, for 83-86 MiB peak instead of
 * ~101 (bench/agent-download). Every 2 blocks peaked at 91 MiB and was no faster in wall time.
 */
const GC_BLOCKS = 1;

export interface PackageFileOptions {
  /** the package's size: the partial's bytes and those still to come */
  size: number;
  /** write inline up to this size (tests set 0 or Infinity to choose a mode) */
  inlineMax?: number;
  /** the worker's module (tests pass one that fails), or its code (a single executable) */
  worker?: URL | { code: string };
}

export class PackageFile {
  /** bytes received by this download */
  received = 0;
  /** the writer of an inline file; null when a worker writes */
  private readonly inline: BlockWriter | null;
  private readonly worker: Worker | null;
  private block: Buffer;
  private fill = 0;
  /** blocks handed to the worker */
  private blocks = 0;
  private readonly free: ArrayBuffer[] = [];
  private queued = 0;
  private waiter: { promise: Promise<void>; resolve: () => void } | null = null;
  private failure: Error | null = null;
  /** the worker's answer to `finish`; null inline */
  private readonly done: Promise<{ digest: string; size: number }> | null;

  /**
   * Opens the writer (inline, or on a worker thread above `inlineMax`) for a file that already
   * holds `start` bytes of the package (a resumed partial), and resolves once they are hashed:
   * before the request goes out, so the time it takes never counts against the server's read
   * time-out. Rejects if they cannot be read, or the worker cannot start.
   */
  static async open(fh: FileHandle, start: number, options: PackageFileOptions): Promise<PackageFile> {
    const file = new PackageFile(fh, start, options);
    try {
      await file.ready;
    } catch (err) {
      await file.stop();
      throw err;
    }
    return file;
  }

  private readonly ready: Promise<void>;

  private constructor(fh: FileHandle, start: number, options: PackageFileOptions) {
    this.block = Buffer.from(spare.pop() ?? new ArrayBuffer(BLOCK));
    if (options.size <= (options.inlineMax ?? INLINE_MAX)) {
      this.worker = null;
      let writer: BlockWriter | null = null;
      try {
        writer = openBlockWriter(fh.fd, start);
        this.ready = Promise.resolve();
      } catch (err) {
        this.ready = Promise.reject(err as Error);
      }
      this.inline = writer;
      this.done = null;
      return;
    }
    this.inline = null;
    const module = options.worker ?? DOWNLOAD_WORKER;
    this.worker = new Worker(module instanceof URL ? module : module.code, {
      eval: !(module instanceof URL),
      workerData: { fd: fh.fd, start } satisfies WorkerInit,
      // It holds one block at a time and no JS objects to speak of.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
    const worker = this.worker;
    let ready: { resolve: () => void; reject: (err: Error) => void };
    this.ready = new Promise((resolve, reject) => (ready = { resolve, reject }));
    let finished = false;
    this.done = new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        this.failure ??= err;
        ready.reject(this.failure);
        // The socket may be paused on a block that will never come back: let `add` throw instead.
        this.release();
      };
      worker.on('message', (m: FromWorker) => {
        if (m.kind === 'free') {
          this.free.push(m.buf);
          this.queued--;
          if (this.queued <= MAX_QUEUED) this.release();
        } else if (m.kind === 'ready') ready.resolve();
        else if (m.kind === 'failed') fail(Object.assign(new Error(m.message), { code: m.code }));
        else {
          finished = true;
          resolve({ digest: m.digest, size: m.size });
        }
      });
      worker.once('error', (err) => {
        fail(err);
        reject(err);
      });
      worker.once('exit', (code) => {
        if (finished) return;
        fail(new Error(`the package writer stopped (exit code ${code})`));
        reject(this.failure);
      });
    });
    // open() and finish() report these; until then a rejection must not go unhandled.
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /**
   * The server sent the whole package from byte 0 (its answer to a Range request): the file and
   * the hash start over. Called before the first chunk.
   */
  restart(): void {
    if (this.received > 0) throw new InternalError('PackageFile.restart after data arrived');
    if (this.inline === null) {
      this.post({ kind: 'restart' });
      return;
    }
    try {
      this.inline.restart();
    } catch (err) {
      // As on the worker: recorded, and thrown by the next add() or by finish().
      this.failure ??= err as Error;
    }
  }

  /** Takes a chunk; a promise means "wait before the next one" (the write queue is full). */
  add(chunk: Buffer): Promise<void> | undefined {
    if (this.failure !== null) throw this.failure;
    this.received += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.block, this.fill, off);
      this.fill += n;
      off += n;
      if (this.fill === BLOCK) this.flush();
    }
    if (this.queued <= MAX_QUEUED) return undefined;
    if (this.waiter === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  /** Writes what is left and waits for every write (also after a failed download: what arrived is kept); the SHA-256 (hex) and the file's length. */
  async finish(): Promise<{ digest: string; size: number }> {
    if (this.inline !== null) {
      try {
        if (this.failure === null) this.flush();
        if (this.failure !== null) throw this.failure;
        return this.inline.finish();
      } finally {
        this.recycle();
      }
    }
    try {
      this.flush();
      this.post({ kind: 'finish' });
      const r = await this.done!;
      if (this.failure !== null) throw this.failure;
      return r;
    } finally {
      this.release();
      await this.stop();
    }
  }

  /** Lets a sender waiting in `add` go on (a block came back, or nothing ever will). */
  private release(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  /**
   * The worker ends by itself after `done`; terminate covers a failure before that. A worker per
   * download rather than one kept for `run`: downloads are rare (a new release), and an idle
   * thread would hold ~6 MiB and 4 descriptors between them (bench/agent-soak).
   */
  private async stop(): Promise<void> {
    if (this.worker === null) return;
    this.recycle();
    await this.worker.terminate();
  }

  /** Gives this file's blocks (not those still with the worker: transferred, they are empty here) to the next download. */
  private recycle(): void {
    for (const buf of [this.block.buffer as ArrayBuffer, ...this.free.splice(0)])
      if (buf.byteLength === BLOCK && spare.length < MAX_SPARE && !spare.includes(buf)) spare.push(buf);
    this.block = Buffer.alloc(0);
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker?.postMessage(m, transfer);
  }

  private flush(): void {
    if (this.fill === 0) return;
    if (this.inline !== null) {
      try {
        this.inline.write(this.block.subarray(0, this.fill));
      } catch (err) {
        this.failure ??= err as Error;
        throw err;
      }
      this.fill = 0;
      return;
    }
    const buf = this.block.buffer as ArrayBuffer;
    this.post({ kind: 'block', buf, length: this.fill }, [buf]);
    this.queued++;
    if (++this.blocks % GC_BLOCKS === 0) minorGc();
    const next = this.free.pop() ?? spare.pop();
    this.block = Buffer.from(next ?? new ArrayBuffer(BLOCK));
    this.fill = 0;
  }
}
