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

export interface ObjectStore {
  /** where it writes, for messages: s3://bucket/prefix or a directory path */
  readonly location: string;
  get(key: string): Promise<StoredObject | null>;
  /** writes the object whole or not at all; resolves to the new ETag */
  put(key: string, body: Buffer, opts: PutOptions): Promise<string>;
  /** keys under a prefix (relative to the store's root), in no particular order */
  list(prefix: string): Promise<string[]>;
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
