/**
 * The file a package downloads into: chunks are hashed in order and gathered into 1 MiB blocks,
 * and each block is written at its position on libuv's thread pool, so the disk works while the
 * main thread decrypts the next bytes. Blocks are written one after the other, so the file on
 * disk is always a prefix of the download (a kill leaves a partial that can be resumed), and at
 * most MAX_QUEUED blocks wait: `add` then returns a promise, which pauses the socket.
 */
import { createHash, type Hash } from 'node:crypto';
import { ftruncateSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 1 << 20;
const MAX_QUEUED = 4;

export class PackageFile {
  /** bytes received by this download */
  received = 0;
  private hash: Hash;
  private block: Buffer;
  private fill = 0;
  /** where the next block goes: the bytes hashed so far */
  private position: number;
  private readonly free: Buffer[] = [];
  private readonly queued: Promise<void>[] = [];
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  /** `hash` already holds the `start` bytes in the file (a resumed partial). */
  constructor(
    private readonly fh: FileHandle,
    start: number,
    hash: Hash,
  ) {
    this.position = start;
    this.hash = hash;
    this.block = Buffer.allocUnsafe(BLOCK);
  }

  /**
   * The server sent the whole package from byte 0 (its answer to a Range request): the file and
   * the hash start over. Called before the first chunk, so nothing is queued yet.
   */
  restart(): void {
    if (this.received > 0) throw new Error('PackageFile.restart after data arrived');
    ftruncateSync(this.fh.fd, 0);
    this.hash = createHash('sha256');
    this.position = 0;
  }

  /** Takes a chunk; a promise means "wait before the next one" (the write queue is full). */
  add(chunk: Buffer): Promise<void> | undefined {
    if (this.failure !== null) throw this.failure;
    this.received += chunk.length;
    let off = 0;
    let wait: Promise<void> | undefined;
    while (off < chunk.length) {
      const n = chunk.copy(this.block, this.fill, off);
      this.fill += n;
      off += n;
      if (this.fill === BLOCK) wait = this.flush() ?? wait;
    }
    return wait;
  }

  /** Writes what is left, waits for every write; the SHA-256 (hex) and the file's length. */
  async finish(): Promise<{ digest: string; size: number }> {
    this.flush();
    await this.drain();
    return { digest: this.hash.digest('hex'), size: this.position };
  }

  /** Waits for the queued writes (also after a failed download: what arrived is kept). */
  async drain(): Promise<void> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
  }

  private flush(): Promise<void> | undefined {
    if (this.fill === 0) return undefined;
    const data = this.block.subarray(0, this.fill);
    const at = this.position;
    this.hash.update(data);
    this.position += this.fill;
    const buf = this.block;
    this.block = this.free.pop() ?? Buffer.allocUnsafe(BLOCK);
    this.fill = 0;
    const write = this.tail.then(async () => {
      if (this.failure !== null) return;
      try {
        let off = 0;
        while (off < data.length) off += (await this.fh.write(data, off, data.length - off, at + off)).bytesWritten;
      } catch (err) {
        this.failure = err;
      } finally {
        this.free.push(buf);
        this.queued.shift();
      }
    });
    this.tail = write;
    this.queued.push(write);
    // Backpressure: beyond MAX_QUEUED blocks, wait for the oldest to be written.
    return this.queued.length > MAX_QUEUED ? this.queued[0] : undefined;
  }
}
