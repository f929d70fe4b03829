/**
 * Downloads a package into the private downloads folder, safely (as tuf-js does): stream into
 * `<sha256>.partial` while hashing, stop past the declared size, verify size and SHA-256, and only
 * then rename to `<sha256>.pkg`. Nothing but a fully verified file ever carries the .pkg name, so
 * a kill at any moment can leave a partial (resumed next time with Range) but never a bad package.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, ftruncateSync, writeSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalError, ValidationError, messageOf } from '../schema/errors.js';
import { HttpError, type HttpClient } from './http.js';

export type DownloadErrorCode = 'DOWNLOAD_SIZE_MISMATCH' | 'DOWNLOAD_HASH_MISMATCH' | 'DOWNLOAD_IO';

/** The package served does not match the manifest. */
export class PackageError extends ValidationError<DownloadErrorCode> {}

export interface PackageSpec {
  download_url: string;
  sha256: string;
  size: number;
}

export interface DownloadResult {
  path: string;
  /** bytes transferred by this call */
  transferred: number;
  /** a partial from before was continued with Range */
  resumed: boolean;
  /** a verified .pkg from before was used without any transfer */
  reused: boolean;
}

export function pkgPath(dir: string, sha256: string): string {
  return join(dir, `${sha256}.pkg`);
}

export function partialPath(dir: string, sha256: string): string {
  return join(dir, `${sha256}.partial`);
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** Feeds a file's bytes into `hash`. */
async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

async function fileMatches(path: string, spec: PackageSpec): Promise<boolean> {
  if ((await sizeOf(path)) !== spec.size) return false;
  const h = createHash('sha256');
  await hashFile(path, h);
  return h.digest('hex') === spec.sha256;
}

/** Removes downloads of any package but `keep` (older targets, abandoned partials). */
export async function cleanDownloads(dir: string, keep: string | null): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => keep === null || !n.startsWith(`${keep}.`)).map((n) => rm(join(dir, n), { force: true, recursive: true })));
}

export async function downloadPackage(spec: PackageSpec, dir: string, http: HttpClient): Promise<DownloadResult> {
  const final = pkgPath(dir, spec.sha256);
  const partial = partialPath(dir, spec.sha256);
  // A verified package from an earlier check (say the helper was down) is re-checked, not trusted.
  if ((await sizeOf(final)) !== null) {
    if (await fileMatches(final, spec)) return { path: final, transferred: 0, resumed: false, reused: true };
    await rm(final, { force: true });
  }

  let have = (await sizeOf(partial)) ?? 0;
  if (have >= spec.size) {
    // Killed between the last byte and the rename: verify and keep it, or start over.
    if (have === spec.size && (await fileMatches(partial, spec))) {
      await rename(partial, final);
      return { path: final, transferred: 0, resumed: true, reused: false };
    }
    await rm(partial, { force: true });
    have = 0;
  }
  const hash = createHash('sha256');
  if (have > 0) await hashFile(partial, hash);

  const fh = await open(partial, have > 0 ? 'r+' : 'w', 0o600);
  const sink = new FileSink(fh.fd, have, hash);
  let decided = have === 0;
  let pending: Buffer | null = null;
  let ioError: unknown = null;
  const write = (chunk: Buffer) => {
    try {
      sink.write(chunk);
    } catch (err) {
      ioError ??= err;
      throw err;
    }
  };
  let result;
  try {
    result = await http.stream(spec.download_url, {
      // Threat: endless data. The package may not exceed the signed size; the stream stops at
      // the first byte beyond it.
      maxBytes: spec.size,
      ...(have > 0 ? { rangeStart: have } : {}),
      onData: (chunk) => {
        if (decided) write(chunk);
        else pending = chunk;
      },
      onProgress: (p) => {
        if (decided || pending === null) return;
        // The first chunk tells whether the server continued at `have` (206) or sent the whole
        // package again (200): then the partial and its hash start over.
        decided = true;
        if (p.bytes !== have + pending.length) sink.restart();
        const c: Buffer = pending;
        pending = null;
        write(c);
      },
    });
    sink.flush();
  } catch (err) {
    // Keep what arrived, so the next check resumes from there.
    try {
      sink.flush();
    } catch {
      // the write error is reported below
    }
    await fh.close();
    // Bytes that do not belong to this package (too many, a wrong range) are not worth resuming.
    if (err instanceof HttpError && (err.code === 'HTTP_TOO_LARGE' || err.code === 'HTTP_RANGE')) await rm(partial, { force: true });
    const cause = ioError ?? err;
    if (ioError === null && err instanceof HttpError) throw err;
    throw new ExternalError<DownloadErrorCode>('DOWNLOAD_IO', `writing ${partial} failed: ${messageOf(cause)}; check free disk space`, { cause });
  }
  // No fsync: it would cost seconds per GiB on slow disks, and buys nothing here. After a power
  // loss a torn file fails the hash that runs before every hand-off (and the helper's own).
  await fh.close();
  const written = sink.written;
  const got = sink.position;
  const resumed = result.resumed;
  // Truncated: fewer bytes than signed. The server ended cleanly, so what it holds is not the package.
  if (got !== spec.size) {
    await rm(partial, { force: true });
    throw new PackageError('DOWNLOAD_SIZE_MISMATCH', `the server sent ${got} bytes, the manifest says ${spec.size}; the package on the server is not the one that was released`);
  }
  const digest = sink.digest();
  // Threat: a tampered or swapped package (compromised CDN, cache poisoning) is never installed.
  if (digest !== spec.sha256) {
    await rm(partial, { force: true });
    throw new PackageError('DOWNLOAD_HASH_MISMATCH', `SHA-256 of the download is ${digest}, the manifest says ${spec.sha256}; the package on the server is not the one that was released`);
  }
  await rename(partial, final);
  return { path: final, transferred: written, resumed, reused: false };
}

/**
 * Writes a stream of chunks to a file in 1 MiB blocks, hashing each block as it is written:
 * synchronous on purpose (the write is the backpressure for the next chunk), batched because a
 * syscall and a hash call per 16 KiB TLS record cost more than the work itself.
 */
class FileSink {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private fill = 0;
  /** bytes in the file plus the buffer */
  position: number;
  /** bytes received by this download */
  written = 0;
  private flushed: number;

  constructor(
    private readonly fd: number,
    start: number,
    /** already holds the bytes before `start` */
    private hash: Hash,
  ) {
    this.position = start;
    this.flushed = start;
  }

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.buf, this.fill, off);
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) this.flush();
    }
    this.position += chunk.length;
    this.written += chunk.length;
  }

  flush(): void {
    this.hash.update(this.buf.subarray(0, this.fill));
    let off = 0;
    while (off < this.fill) off += writeSync(this.fd, this.buf, off, this.fill - off, this.flushed + off);
    this.flushed += this.fill;
    this.fill = 0;
  }

  /** The server sent the whole package instead of the rest: start the file over. */
  restart(): void {
    ftruncateSync(this.fd, 0);
    this.hash = createHash('sha256');
    this.fill = 0;
    this.flushed = 0;
    this.position = 0;
  }

  /** SHA-256 of everything written (call after the last flush). */
  digest(): string {
    return this.hash.digest('hex');
  }
}
