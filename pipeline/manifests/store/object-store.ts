/**
 * The object store a manifest is published to: S3 (or an S3-compatible store) or a local
 * directory. Small on purpose: publish and drift need get, a conditional put, and a listing.
 */
import { ExternalError, InternalError } from '../../../schema/errors.js';

export interface StoredObject {
  body: Buffer;
  /** an opaque version tag: S3's ETag, or the SHA-256 of the content for a directory */
  etag: string;
  contentType?: string;
  cacheControl?: string;
}

/**
 * Guards a write against a concurrent publisher (lost update):
 * - `ifMatch`: write only if the object still has this ETag (the one that was read);
 * - `ifNoneMatch: '*'`: write only if the object does not exist yet.
 */
export type WriteCondition = { ifMatch: string } | { ifNoneMatch: '*' };

export interface PutOptions {
  contentType: string;
  cacheControl?: string;
  condition?: WriteCondition;
}

/**
 * The store's own clock, as one of its answers told it: the answer's Date header (whole seconds)
 * and when, on this process's monotonic clock (performance.now(), ms), the request was sent and
 * its answer arrived. The server wrote the Date somewhere between the two.
 */
export interface StoreTime {
  /** the Date header, as the server sent it */
  header: string;
  /** the header read: the server's time, to the second (the true time is in [date, date + 1 s)) */
  date: Date;
  sentMs: number;
  answeredMs: number;
  /** where it came from, for messages: "the Date header of s3://bucket/prefix's answer to a listing" */
  source: string;
}

export interface ObjectStore {
  /** where it writes, for messages: s3://bucket/prefix or a directory path */
  readonly location: string;
  get(key: string): Promise<StoredObject | null>;
  /** writes the object whole or not at all; resolves to the new ETag */
  put(key: string, body: Buffer, opts: PutOptions): Promise<string>;
  /** keys under a prefix (relative to the store's root), in no particular order */
  list(prefix: string): Promise<string[]>;
  /**
   * The store's clock, read from the answer to one small request (S3: a listing of one key).
   * Absent, or null, when the store has none independent of this machine (a directory) or its
   * answer carried no usable Date header: publish then skips the check (store-clock.ts).
   */
  time?(): Promise<StoreTime | null>;
  /**
   * Starts a new deadline for the requests from here on (S3: MNGD_S3_DEADLINE_MS): `apply` reads
   * the manifests before verify-artifacts and sync, whose time must not count against publish's.
   */
  newDeadline?(): void;
  /** releases connections (S3); optional */
  close?(): void;
}

export type StoreErrorCode = 'STORE_CONFLICT' | 'STORE_UNAVAILABLE';

/** Another publisher changed the object between our read and our write. Exit 3: re-run. */
export class StoreConflictError extends ExternalError<'STORE_CONFLICT'> {
  constructor(location: string, key: string, options?: { cause?: unknown; holder?: string }) {
    super(
      'STORE_CONFLICT',
      options?.holder !== undefined
        ? `${key} in ${location} is being written by another publish (${options.holder} holds its lock); nothing of this run overwrote it: re-run the publish once it is done`
        : `${key} in ${location} changed while this run was publishing (another publish ran at the same time); nothing of this run overwrote it: re-run the publish`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** The store could not be read or written (network, permissions, disk). Exit 3: retry. */
export class StoreUnavailableError extends ExternalError<'STORE_UNAVAILABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/** Object keys are relative, slash-separated, and never climb out of the store's root. */
export function checkKey(key: string): string {
  // Path traversal: a key like ../x must never address a file outside the target.
  if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new InternalError(`invalid object key "${key}"`);
  }
  return key;
}
