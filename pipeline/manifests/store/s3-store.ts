/**
 * S3 (or an S3-compatible store) as an object store, through @aws-sdk/client-s3 and its default
 * credential chain. Conditional writes use If-Match / If-None-Match, which AWS S3 enforces;
 * some S3-compatible stores (s3rver among them) ignore them. Every answer's Date header is kept
 * (a middleware on the client), so publish can hold this machine's clock against the store's.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { SettingsError, messageOf } from '../../../schema/errors.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  checkKey,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
  type StoreTime,
} from './object-store.js';

/**
 * Deadlines, so a black-holed endpoint (TCP accepted, nothing answered) becomes exit 3 instead of
 * a job that hangs: each request (connect 10 s, then the whole exchange) and the store as a whole
 * (every call of one command together, retries included).
 */
export interface S3Timeouts {
  /** one request, from sending to the last byte of the answer (MNGD_S3_REQUEST_TIMEOUT_MS, 30 s) */
  requestMs: number;
  /** all calls of this store together, from its first request (MNGD_S3_DEADLINE_MS, 5 min) */
  deadlineMs: number;
}

export const DEFAULT_S3_TIMEOUTS: S3Timeouts = { requestMs: 30_000, deadlineMs: 300_000 };
const CONNECT_TIMEOUT_MS = 10_000;

export interface S3StoreOptions {
  bucket: string;
  /** key prefix without leading or trailing slash; '' for the bucket root */
  prefix: string;
  region?: string;
  /** for S3-compatible stores, e.g. http://127.0.0.1:4568 */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** explicit credentials; without them the SDK's default chain (env, profile, IMDS, web identity) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
  /** keys per listing page (S3's default and maximum is 1000) */
  pageSize?: number;
  timeouts?: S3Timeouts;
}

/** The Date header of a raw HTTP answer, parsed; null when there is none or it is not a date. */
export function dateHeaderOf(response: unknown): { header: string; date: Date } | null {
  const headers = (response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
  const header = headers?.['date'] ?? headers?.['Date'];
  if (typeof header !== 'string') return null;
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? null : { header, date: new Date(ms) };
}

type StackMiddleware = Parameters<S3Client['middlewareStack']['addRelativeTo']>[0];

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

export class S3Store implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly timeouts: S3Timeouts;
  /**
   * When this command's requests must all have ended: set by the first request, not when the store
   * is opened, so the time `apply` spends in verify-artifacts and sync (a wait for the sync lock,
   * slow downloads) never counts against the store's deadline.
   */
  private deadline: number | null = null;
  /** the Date of the store's latest answer (any request, any status), with when it was asked and answered */
  private lastAnswer: Omit<StoreTime, 'source'> | null = null;

  constructor(readonly opts: S3StoreOptions) {
    this.location = `s3://${opts.bucket}${opts.prefix ? `/${opts.prefix}` : ''}`;
    const config: S3ClientConfig = {
      region: opts.region ?? 'us-east-1',
      // Without these the SDK streams uploads with aws-chunked framing, which some
      // S3-compatible stores save verbatim into the object.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, this.timeoutsOf(opts).requestMs),
        requestTimeout: this.timeoutsOf(opts).requestMs,
        throwOnRequestTimeout: true,
      },
    };
    this.timeouts = this.timeoutsOf(opts);
    if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
    if (opts.forcePathStyle !== undefined) config.forcePathStyle = opts.forcePathStyle;
    if (opts.credentials !== undefined) config.credentials = opts.credentials;
    // The SDK warns under Node 20 that its releases after January 2027 need Node 22. The workflows
    // and package.json engines are on Node 22; the lockfile pins an SDK that still runs on Node 20
    // (where a contributor's machine or a local CI still has it), so the warning is only noise
    // there. Set the variable to "false" to see it.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.client = new S3Client(config);
    // Inside the deserializer, once per attempt: the raw HttpResponse, whatever its status. The
    // server wrote its Date between sending (taken here, after signing) and the answer.
    const keepDate = (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
      const sentMs = performance.now();
      const result = await next(args);
      const answeredMs = performance.now();
      const date = dateHeaderOf(result.response);
      if (date !== null) this.lastAnswer = { ...date, sentMs, answeredMs };
      return result;
    };
    // The SDK types a middleware as a union over its five steps; this one is the deserialize
    // step's (its next() resolves to { response: HttpResponse }), placed there by the relation.
    this.client.middlewareStack.addRelativeTo(keepDate as unknown as StackMiddleware, {
      name: 'mngdStoreClock',
      relation: 'after',
      toMiddleware: 'deserializerMiddleware',
      override: true,
    });
  }

  private timeoutsOf(opts: S3StoreOptions): S3Timeouts {
    return opts.timeouts ?? DEFAULT_S3_TIMEOUTS;
  }

  newDeadline(): void {
    this.deadline = null;
  }

  /** Sends with what is left of the store's deadline; past it, fails at once. */
  private send<T>(action: string, key: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    this.deadline ??= Date.now() + this.timeouts.deadlineMs;
    const left = this.deadline - Date.now();
    if (left <= 0)
      return Promise.reject(
        new StoreUnavailableError(
          `cannot ${action} ${this.location}/${key}: the store's ${this.timeouts.deadlineMs / 1000} s deadline for this command has passed (MNGD_S3_DEADLINE_MS)`,
        ),
      );
    return fn(AbortSignal.timeout(left));
  }

  private key(key: string): string {
    checkKey(key);
    return this.opts.prefix ? `${this.opts.prefix}/${key}` : key;
  }

  private unavailable(
    action: string,
    key: string,
    err: unknown,
  ): StoreUnavailableError | SettingsError<'STORE_NO_CREDENTIALS'> {
    if (err instanceof StoreUnavailableError) return err;
    const status = statusOf(err);
    const name = err instanceof Error ? err.name : 'Error';
    if (name === 'TimeoutError' || name === 'AbortError') {
      const late = this.deadline !== null && Date.now() >= this.deadline;
      return new StoreUnavailableError(
        `cannot ${action} ${this.location}/${key}: no answer ${late ? `within the store's ${this.timeouts.deadlineMs / 1000} s deadline (MNGD_S3_DEADLINE_MS)` : `within ${this.timeouts.requestMs / 1000} s per request (MNGD_S3_REQUEST_TIMEOUT_MS)`}: the endpoint or the network to it is stalled`,
        { cause: err },
      );
    }
    // Not an outage: re-running the job cannot help until credentials are set up (exit 2).
    if (name === 'CredentialsProviderError') {
      return new SettingsError(
        `cannot ${action} ${this.location}/${key}: no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or give the job its AWS role (docs/github-setup.md, step 3)`,
        'STORE_NO_CREDENTIALS',
      );
    }
    return new StoreUnavailableError(
      `cannot ${action} ${this.location}/${key}: ${name}${status ? ` (HTTP ${status})` : ''}: ${messageOf(err)}`,
      { cause: err },
    );
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.send('read', key, (abortSignal) =>
        this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }), { abortSignal }),
      );
      const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      const obj: StoredObject = { body, etag: out.ETag ?? '' };
      if (out.ContentType !== undefined) obj.contentType = out.ContentType;
      if (out.CacheControl !== undefined) obj.cacheControl = out.CacheControl;
      return obj;
    } catch (err) {
      if (statusOf(err) === 404 && (err as Error).name === 'NoSuchKey') return null;
      throw this.unavailable('read', key, err);
    }
  }

  async put(key: string, body: Buffer, opts: PutOptions): Promise<string> {
    const c = opts.condition;
    try {
      const out = await this.send('write', key, (abortSignal) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.opts.bucket,
            Key: this.key(key),
            Body: body,
            ContentType: opts.contentType,
            ContentLength: body.length,
            ...(opts.cacheControl !== undefined ? { CacheControl: opts.cacheControl } : {}),
            ...(c !== undefined && 'ifMatch' in c ? { IfMatch: c.ifMatch } : {}),
            ...(c !== undefined && 'ifNoneMatch' in c ? { IfNoneMatch: c.ifNoneMatch } : {}),
          }),
          { abortSignal },
        ),
      );
      return out.ETag ?? '';
    } catch (err) {
      // 412: the ETag changed since we read it; 409: a concurrent conditional write won.
      const status = statusOf(err);
      if (status === 412 || (status === 409 && (err as Error).name === 'ConditionalRequestConflict')) {
        throw new StoreConflictError(this.location, key, { cause: err });
      }
      throw this.unavailable('write', key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.key(prefix.replace(/\/+$/, '')) + '/';
    const strip = this.opts.prefix ? this.opts.prefix.length + 1 : 0;
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.send('list', prefix, (abortSignal) =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.opts.bucket,
              Prefix: full,
              ...(this.opts.pageSize !== undefined ? { MaxKeys: this.opts.pageSize } : {}),
              ...(token ? { ContinuationToken: token } : {}),
            }),
            { abortSignal },
          ),
        );
        for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push(o.Key.slice(strip));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.unavailable('list', prefix, err);
    }
    return out;
  }

  /** The store's clock: the Date of its answer to a listing of one key under the prefix. */
  async time(): Promise<StoreTime | null> {
    this.lastAnswer = null;
    const prefix = this.opts.prefix ? `${this.opts.prefix}/` : '';
    try {
      await this.send('list', '', (abortSignal) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, MaxKeys: 1 }), {
          abortSignal,
        }),
      );
    } catch (err) {
      throw this.unavailable('list', '', err);
    }
    const seen = this.lastAnswer as Omit<StoreTime, 'source'> | null;
    return seen === null ? null : { ...seen, source: `the Date header of ${this.location}'s answer to a listing` };
  }

  close(): void {
    this.client.destroy();
  }
}
