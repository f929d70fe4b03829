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
  let hash = createHash('sha256');
  if (have > 0) await hashFile(partial, hash);

  const fh = await open(partial, have > 0 ? 'r+' : 'w', 0o600);
  let position = have;
  let written = 0;
  let decided = have === 0;
  let pending: Buffer | null = null;
  const write = (chunk: Buffer) => {
    hash.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      // Synchronous on purpose: the write is the backpressure for the next chunk.
      off += writeSyncAt(fh.fd, chunk, off, position + off);
    }
    position += chunk.length;
    written += chunk.length;
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
        if (p.bytes !== have + pending.length) {
          hash = createHash('sha256');
          position = 0;
          ftruncateSync(fh.fd, 0);
        }
        const c: Buffer = pending;
        pending = null;
        write(c);
      },
    });
  } catch (err) {
    await fh.close();
    // Bytes that do not belong to this package (too many, a wrong range) are not worth resuming.
    if (err instanceof HttpError && (err.code === 'HTTP_TOO_LARGE' || err.code === 'HTTP_RANGE')) await rm(partial, { force: true });
    if (err instanceof HttpError) throw err;
    throw new ExternalError<DownloadErrorCode>('DOWNLOAD_IO', `writing ${partial} failed: ${messageOf(err)}`, { cause: err });
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  const resumed = result.resumed;
  const got = position;
  // Truncated: fewer bytes than signed. The server ended cleanly, so what it holds is not the package.
  if (got !== spec.size) {
    await rm(partial, { force: true });
    throw new PackageError('DOWNLOAD_SIZE_MISMATCH', `the server sent ${got} bytes, the manifest says ${spec.size}; the package on the server is not the one that was released`);
  }
  const digest = hash.digest('hex');
  // Threat: a tampered or swapped package (compromised CDN, cache poisoning) is never installed.
  if (digest !== spec.sha256) {
    await rm(partial, { force: true });
    throw new PackageError('DOWNLOAD_HASH_MISMATCH', `SHA-256 of the download is ${digest}, the manifest says ${spec.sha256}; the package on the server is not the one that was released`);
  }
  await rename(partial, final);
  return { path: final, transferred: written, resumed, reused: false };
}

function writeSyncAt(fd: number, buf: Buffer, offset: number, position: number): number {
  return writeSync(fd, buf, offset, buf.length - offset, position);
}
