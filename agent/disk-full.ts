/**
 * A full disk (ENOSPC) or an exhausted quota (EDQUOT) in the agent's state folder: not a fault of
 * the package (never counted toward its cool-down) and not a crash: the check ends with one
 * `SelfUpdate:` warning and leaves no temporary file behind.
 */
import { ExternalError, messageOf } from '../schema/errors.js';

const FULL = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `err` (or its cause) says the disk or the quota is full. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'DISK_FULL' || (typeof code === 'string' && FULL.has(code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export class DiskFullError extends ExternalError<'DISK_FULL'> {
  constructor(path: string, cause: unknown) {
    super(
      'DISK_FULL',
      `cannot write ${path}: the disk is full (${messageOf(cause)}); free some space, the next check goes on by itself`,
      { cause },
    );
  }
}

/** `err` as a DiskFullError when the disk is full, else unchanged. */
export function asDiskFull(err: unknown, path: string): unknown {
  return isDiskFull(err) && !(err instanceof DiskFullError) ? new DiskFullError(path, err) : err;
}
