/**
 * The worker thread behind PackageFile (agent/package-file.ts): it hashes each block and writes
 * it at its position, in the order the blocks arrive, then gives the block back. The main thread
 * is left with TLS and HTTP alone, so on two cores decryption and SHA-256 run side by side.
 *
 * Messages in (ordered): `block` (an ArrayBuffer, transferred, and its length), `restart`
 * (empty the file and the hash: the server ignored Range), `finish`. Messages out: `ready` (the
 * bytes already in the file are hashed), `free` (the block, transferred back), `failed` (the
 * partial could not be read, or a write failed; later blocks are dropped), `done` (the SHA-256
 * and the file's length, after every block before `finish`).
 */
import { createHash } from 'node:crypto';
import { ftruncateSync, readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerInit {
  fd: number;
  /** bytes already in the file (a resumed partial): hashed here before any block */
  start: number;
}

export type ToWorker = { kind: 'block'; buf: ArrayBuffer; length: number } | { kind: 'restart' } | { kind: 'finish' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'free'; buf: ArrayBuffer }
  | { kind: 'failed'; message: string; code: string | undefined }
  | { kind: 'done'; digest: string; size: number };

const port = parentPort;
if (port === null) throw new Error('package-file.worker runs only as a worker thread');
const { fd, start } = workerData as WorkerInit;

let hash = createHash('sha256');
let position = 0;
let failed = false;

function fail(err: unknown): void {
  failed = true;
  const e = err as NodeJS.ErrnoException;
  port!.postMessage({ kind: 'failed', message: e.message ?? String(err), code: e.code } satisfies FromWorker);
}

// The resumed partial's bytes go into the hash first.
try {
  const buf = Buffer.allocUnsafe(1 << 20);
  while (position < start) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, start - position), position);
    if (n === 0) throw new Error(`the partial download ended at ${position} bytes, ${start} expected`);
    hash.update(buf.subarray(0, n));
    position += n;
  }
  port.postMessage({ kind: 'ready' } satisfies FromWorker);
} catch (err) {
  fail(err);
}

port.on('message', (m: ToWorker) => {
  switch (m.kind) {
    case 'block': {
      if (!failed) {
        const data = Buffer.from(m.buf, 0, m.length);
        hash.update(data);
        try {
          for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, position + off);
          position += data.length;
        } catch (err) {
          fail(err);
        }
      }
      port.postMessage({ kind: 'free', buf: m.buf } satisfies FromWorker, [m.buf]);
      break;
    }
    case 'restart':
      try {
        ftruncateSync(fd, 0);
        hash = createHash('sha256');
        position = 0;
        failed = false;
      } catch (err) {
        fail(err);
      }
      break;
    case 'finish':
      port.postMessage({ kind: 'done', digest: hash.digest('hex'), size: position } satisfies FromWorker);
      port.close();
      break;
  }
});
