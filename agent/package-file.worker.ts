/**
 * The worker thread behind a large PackageFile (agent/package-file.ts): it runs the BlockWriter
 * (agent/block-writer.ts) on each block as it arrives, then gives the block back. The main thread
 * is left with TLS and HTTP alone, so on two cores decryption and SHA-256 run side by side.
 *
 * Messages in (ordered): `block` (an ArrayBuffer, transferred, and its length), `restart`
 * (empty the file and the hash: the server ignored Range), `finish`. Messages out: `ready` (the
 * bytes already in the file are hashed), `free` (the block, transferred back), `failed` (the
 * partial could not be read, or a write failed; later blocks are dropped), `done` (the SHA-256
 * and the file's length, after every block before `finish`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InternalError } from '../schema/errors.js';
import { openBlockWriter, type BlockWriter } from './block-writer.js';

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
if (port === null) throw new InternalError('package-file.worker runs only as a worker thread');
const { fd, start } = workerData as WorkerInit;

let writer: BlockWriter | null = null;
let failed = false;

function fail(err: unknown): void {
  failed = true;
  const e = err as NodeJS.ErrnoException;
  port!.postMessage({ kind: 'failed', message: e.message ?? String(err), code: e.code } satisfies FromWorker);
}

try {
  writer = openBlockWriter(fd, start);
  port.postMessage({ kind: 'ready' } satisfies FromWorker);
} catch (err) {
  fail(err);
}

port.on('message', (m: ToWorker) => {
  if (writer === null) return; // failed to open: the main thread stops this thread
  switch (m.kind) {
    case 'block':
      if (!failed) {
        try {
          writer.write(Buffer.from(m.buf, 0, m.length));
        } catch (err) {
          fail(err);
        }
      }
      port.postMessage({ kind: 'free', buf: m.buf } satisfies FromWorker, [m.buf]);
      break;
    case 'restart':
      try {
        writer.restart();
        failed = false;
      } catch (err) {
        fail(err);
      }
      break;
    case 'finish':
      port.postMessage({ kind: 'done', ...writer.finish() } satisfies FromWorker);
      port.close();
      break;
  }
});
