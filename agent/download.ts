/**
 * Downloads a package into the private downloads folder, safely (as tuf-js does): stream into
 * `<sha256>.partial` while hashing, stop past the declared size, verify size and SHA-256, and only
 * then rename to `<sha256>.pkg`. Nothing but a fully verified file ever carries the .pkg name, so
 * a kill at any moment can leave a partial (resumed next time with Range) but never a bad package.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalError, MngdError, ValidationError, messageOf } from '../schema/errors.js';
import { HttpError, withStatusHint, type HttpClient, type StreamOptions, type StreamResult } from './http/index.js';
import { DEADLINES, packageDeadlineMs, type Deadlines } from './deadlines.js';
import { DiskFullError, isDiskFull } from './disk-full.js';
import { PackageFile } from './package-file.js';

/** the one buffer a kept package is re-hashed through, kept between checks (null while in use) */
const HASH_BUFFER = 1 << 20;
let hashBuffer: Buffer | null = null;

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

/**
 * Feeds a file's bytes into `hash` through one 1 MiB buffer, the same for every check. A read
 * stream allocates a new buffer per chunk, outside V8's heap, that only a GC frees: re-hashing a
 * kept 16 MiB package on every check of `run` (the helper down) held tens of MiB of them
 * (bench/agent-soak).
 */
async function hashFile(path: string, hash: Hash): Promise<void> {
  const fh = await open(path, 'r');
  const buf = hashBuffer ?? Buffer.allocUnsafe(HASH_BUFFER);
  hashBuffer = null;
  try {
    for (let position = 0; ;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      if (bytesRead === 0) return;
      hash.update(buf.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    hashBuffer = buf;
    await fh.close();
  }
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
  await Promise.all(
    names
      .filter((n) => keep === null || !n.startsWith(`${keep}.`))
      .map((n) => rm(join(dir, n), { force: true, recursive: true })),
  );
}

/** Room left on the disk after a download: the Mac needs it more than the update does. */
export const DISK_RESERVE_BYTES = 64 * 1024 * 1024;

/** Refuses to start a download that would fill the disk (DISK_FULL), before a byte is written. */
async function ensureSpace(dir: string, bytes: number, partial: string): Promise<void> {
  const fs = await statfs(dir).catch(() => null);
  if (fs === null) return; // unknown: the write itself will tell
  const free = fs.bavail * fs.bsize;
  if (free < bytes + DISK_RESERVE_BYTES)
    throw new DiskFullError(
      partial,
      Object.assign(
        new Error(`${free} bytes free, the package needs ${bytes} more and ${DISK_RESERVE_BYTES} stay free`),
        {
          code: 'ENOSPC',
        },
      ),
    );
}

export async function downloadPackage(
  spec: PackageSpec,
  dir: string,
  http: HttpClient,
  deadlines: Deadlines = DEADLINES,
): Promise<DownloadResult> {
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
  await ensureSpace(dir, spec.size - have, partial);
  const fh = await open(partial, have > 0 ? 'r+' : 'w', 0o600);
  let file: PackageFile;
  try {
    file = await PackageFile.open(fh, have, { size: spec.size });
  } catch (err) {
    await fh.close();
    // A partial that cannot be read back is worth nothing: the next check starts from scratch.
    await rm(partial, { force: true });
    if (isDiskFull(err)) throw new DiskFullError(partial, err);
    throw new ExternalError<DownloadErrorCode>(
      'DOWNLOAD_IO',
      `could not start writing ${partial}: ${messageOf(err)}; the partial was removed, the next check starts over`,
      { cause: err },
    );
  }
  let result: StreamResult | null = null;
  let failure: unknown = null;
  const opts: StreamOptions = {
    // Threat: endless data. The package may not exceed the signed size; the stream stops at
    // the first byte beyond it.
    maxBytes: spec.size,
    // Slow retrieval: what is missing must arrive at the minimum average rate (after a grace).
    deadlineMs: packageDeadlineMs(spec.size - have, deadlines),
    ...(have > 0 ? { rangeStart: have } : {}),
    onResponse: (r) => {
      // The server ignored Range and sends the whole package: the partial and its hash start over.
      // The partial is empty from here on, so a retry (the body failed before its first byte)
      // must ask for the whole package, not for the range it no longer holds.
      if (have > 0 && !r.resumed) {
        file.restart();
        have = 0;
        delete opts.rangeStart;
      }
    },
    onData: (chunk) => file.add(chunk),
  };
  try {
    result = await http.stream(spec.download_url, opts);
  } catch (err) {
    failure = withStatusHint(err, {
      missing: 'check download_url in the release file, or upload the package',
      refused: 'packages must be readable without credentials',
    });
  }
  let written: { digest: string; size: number } | null = null;
  try {
    // Also after a failure: what arrived is written, so the next check resumes from there.
    written = await file.finish();
  } catch (err) {
    failure = isDiskFull(err)
      ? new DiskFullError(partial, err)
      : new ExternalError<DownloadErrorCode>('DOWNLOAD_IO', `writing ${partial} failed: ${messageOf(err)}`, {
          cause: err,
        });
  } finally {
    // No fsync: it would cost seconds per GiB on slow disks, and buys nothing here. After a power
    // loss a torn file fails the hash that runs before every hand-off (and the helper's own).
    await fh.close();
  }
  if (failure !== null || result === null || written === null) {
    // Bytes that do not belong to this package (too many, a wrong range) are not worth resuming;
    // on a full disk the space goes back to the Mac.
    if (
      failure instanceof DiskFullError ||
      (failure instanceof HttpError && (failure.code === 'HTTP_TOO_LARGE' || failure.code === 'HTTP_RANGE'))
    )
      await rm(partial, { force: true });
    if (failure instanceof MngdError) throw failure;
    throw new ExternalError<DownloadErrorCode>(
      'DOWNLOAD_IO',
      `downloading to ${partial} failed: ${messageOf(failure)}`,
      { cause: failure },
    );
  }
  // Truncated: fewer bytes than signed. The server ended cleanly, so what it holds is not the package.
  if (written.size !== spec.size) {
    await rm(partial, { force: true });
    throw new PackageError(
      'DOWNLOAD_SIZE_MISMATCH',
      `the server sent ${written.size} bytes, the manifest says ${spec.size}; the package on the server is not the one that was released`,
    );
  }
  // Threat: a tampered or swapped package (compromised CDN, cache poisoning) is never installed.
  if (written.digest !== spec.sha256) {
    await rm(partial, { force: true });
    throw new PackageError(
      'DOWNLOAD_HASH_MISMATCH',
      `SHA-256 of the download is ${written.digest}, the manifest says ${spec.sha256}; the package on the server is not the one that was released`,
    );
  }
  await rename(partial, final);
  return { path: final, transferred: file.received, resumed: result.resumed, reused: false };
}
