/**
 * Hashes blocks of a download and writes each at its position, in order, so the file is always a
 * prefix of the download. Synchronous on purpose: it runs either on the worker thread of a large
 * download (agent/package-file.worker.ts) or inline for a small one (agent/package-file.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { ftruncateSync, readSync, writeSync } from 'node:fs';
import { ExternalError } from '../schema/errors.js';

export interface BlockWriter {
  /** hashes `data` and writes it after the bytes so far; throws on a write error */
  write(data: Buffer): void;
  /** empties the file and the hash (the server ignored Range and sends the whole package) */
  restart(): void;
  /** the SHA-256 (hex) of the file's bytes, and their number */
  finish(): { digest: string; size: number };
}

/** For a file that already holds `start` bytes of the download (a resumed partial): they are hashed first. */
export function openBlockWriter(fd: number, start: number): BlockWriter {
  let hash: Hash = createHash('sha256');
  let position = 0;
  const buf = Buffer.allocUnsafe(Math.min(start, 1 << 20));
  while (position < start) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, start - position), position);
    if (n === 0)
      throw new ExternalError('DOWNLOAD_IO', `the partial download ended at ${position} bytes, ${start} expected`);
    hash.update(buf.subarray(0, n));
    position += n;
  }
  return {
    write(data) {
      hash.update(data);
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off, position + off);
      position += data.length;
    },
    restart() {
      ftruncateSync(fd, 0);
      hash = createHash('sha256');
      position = 0;
    },
    finish() {
      return { digest: hash.digest('hex'), size: position };
    },
  };
}
