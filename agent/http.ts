/**
 * The one HTTP module of the repository: the pipeline (verify-artifacts) and the agent (manifest
 * and package downloads) both fetch through it, so network policy lives in one place.
 *
 *   const http = createHttpClient({ caFile, connectTimeoutMs, readTimeoutMs, retries, signal });
 *
 *   await http.getBuffer(url, { maxBytes, etag? })
 *     -> { status: 200, body, etag?, lastModified? } | { status: 304 }
 *     Small documents (the manifest). Sends If-None-Match when `etag` is given; refuses a body
 *     above maxBytes while it streams in, before holding it all.
 *
 *   await http.stream(url, { maxBytes, onData, onResponse?, onProgress?, rangeStart?, ifRange?, etag?, lastModified? })
 *     -> { status: 200 | 206 | 304, bytes, etag?, lastModified?, contentLength?, resumed }
 *     Large downloads, never held in memory: each chunk goes to onData as it arrives. Stops as
 *     soon as more than maxBytes (counted over the whole package, so rangeStart included) arrive.
 *     rangeStart > 0 sends `Range: bytes=N-` (with If-Range when given); resumed=false means the
 *     server sent the whole package from byte 0 instead, so the caller restarts its hash;
 *     onResponse tells it before the first byte. onData may return a promise (backpressure);
 *     an error it throws ends the download and reaches the caller unchanged (not an HttpError).
 *     etag/lastModified make the request conditional: 304 means unchanged, no body.
 *
 * Policy, for every request:
 * - https only, no user info in the URL, no credentials ever sent (no Authorization, no cookies);
 *   redirects are followed (at most 10) only to https URLs without user info.
 * - connect time-out (TCP + TLS) and read time-out (idle time between bytes: a stalled body
 *   fails; a slow but moving one does not).
 * - retries with exponential backoff (and Retry-After, capped) on network errors, time-outs,
 *   408, 429 and 5xx, but only before any body byte reached the caller: a failure mid-body is
 *   thrown so that the caller decides (the agent resumes with rangeStart).
 * - the body must be exactly Content-Length bytes when the server sends one.
 * - raw bytes: Accept-Encoding: identity, no decompression (the hash is over what the server stores).
 *
 * Errors are HttpError (an ExternalError, so exit 3 unless the caller classifies it) with a code;
 * messages name the URL without its query string (signed URLs carry secrets there).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import got, { type Request } from 'got';
import { ExternalError, messageOf } from '../schema/errors.js';

export const TOOL_VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `mngd-release/${TOOL_VERSION}`;
const MAX_REDIRECTS = 10;

export type HttpErrorCode =
  | 'HTTP_STATUS'
  | 'HTTP_TIMEOUT'
  | 'HTTP_NETWORK'
  | 'HTTP_TLS'
  | 'HTTP_INSECURE_URL'
  | 'HTTP_INSECURE_REDIRECT'
  | 'HTTP_TOO_MANY_REDIRECTS'
  | 'HTTP_TOO_LARGE'
  | 'HTTP_LENGTH_MISMATCH'
  | 'HTTP_RANGE'
  | 'HTTP_ABORTED'
  | 'HTTP_CA_FILE';

export class HttpError extends ExternalError<HttpErrorCode> {
  /** the URL as shown in the message (no query, no user info) */
  readonly url: string;
  /** the HTTP status, for HTTP_STATUS */
  readonly status: number | undefined;
  /** body bytes that reached the caller before the failure */
  readonly bytes: number;
  /** for HTTP_TOO_LARGE: the size the server announced, when it announced too much up front */
  readonly announced: number | undefined;

  constructor(
    code: HttpErrorCode,
    url: string,
    message: string,
    extra: { status?: number; bytes?: number; announced?: number; cause?: unknown } = {},
  ) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.url = url;
    this.status = extra.status;
    this.bytes = extra.bytes ?? 0;
    this.announced = extra.announced;
  }
}

export interface RetryOptions {
  /** retries after the first attempt (default 2) */
  limit: number;
  /** first backoff delay; doubles each retry, with jitter (default 500) */
  baseDelayMs: number;
  /** cap for any one delay, Retry-After included (default 10000) */
  maxDelayMs: number;
}

export interface HttpClientOptions {
  userAgent?: string;
  /** extra CA certificates (PEM file) trusted besides the system roots: private CDNs, tests */
  caFile?: string;
  /** the same, as PEM text */
  ca?: string;
  /** TCP connect and TLS handshake, each (default 10000) */
  connectTimeoutMs?: number;
  /** idle time allowed waiting for the response or between body bytes (default 30000) */
  readTimeoutMs?: number;
  retries?: Partial<RetryOptions>;
  signal?: AbortSignal;
  /** waits between retries; injectable for tests (default setTimeout honouring `signal`) */
  sleep?: (ms: number) => Promise<void>;
}

export interface GetBufferOptions {
  maxBytes: number;
  /** the ETag of the copy the caller holds: a 304 answer means it is still current */
  etag?: string;
}

export type GetBufferResult = { status: 200; body: Buffer; etag?: string; lastModified?: string } | { status: 304 };

export interface Progress {
  /** bytes of the package so far (rangeStart included when resumed) */
  bytes: number;
  /** the whole package's size when the server said so */
  total?: number;
}

export interface StreamOptions {
  /** the most bytes the whole package may have */
  maxBytes: number;
  /** each chunk as it arrives; return a promise to pause the download until it settles */
  onData(chunk: Buffer): unknown;
  /**
   * Called once the final response's headers are in, before the first onData: whether the bytes
   * continue at rangeStart (resumed) or start over at 0, so a caller can reset its hash first.
   */
  onResponse?(info: Omit<StreamResult, 'bytes'> & { total?: number }): void;
  onProgress?(p: Progress): void;
  /** resume from this byte (the caller holds bytes [0, rangeStart)) */
  rangeStart?: number;
  /** ETag or Last-Modified of the partial copy: the server sends it all again if it changed */
  ifRange?: string;
  /** conditional request: 304 when the server's ETag still matches */
  etag?: string;
  /** conditional request: 304 when not modified since (used when there is no ETag) */
  lastModified?: string;
}

export interface StreamResult {
  status: number;
  /** body bytes delivered to onData by this call */
  bytes: number;
  etag?: string;
  lastModified?: string;
  /** the Content-Length of this response (the remaining part for a 206) */
  contentLength?: number;
  /** true when the server answered 206 and the bytes continue at rangeStart */
  resumed: boolean;
}

export interface HttpClient {
  getBuffer(url: string, opts: GetBufferOptions): Promise<GetBufferResult>;
  stream(url: string, opts: StreamOptions): Promise<StreamResult>;
}

/** The URL fit for messages and logs: no user info, and the query (signed URL secrets) elided. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(an unparsable URL)';
  }
}

// Threat: a release file (or a redirect) that smuggles credentials, or a downgrade to plain
// http where anyone on the path can swap the package. Only https without user info passes.
function checkUrl(raw: string, code: 'HTTP_INSECURE_URL' | 'HTTP_INSECURE_REDIRECT', from?: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new HttpError(
      code,
      '(invalid)',
      `${from ? `${from} redirected to` : 'the URL'} "${raw.slice(0, 200)}", which is not a valid URL`,
    );
  }
  const shown = displayUrl(u);
  const where = from ? `${from} redirected to ${shown}` : shown;
  if (u.protocol !== 'https:') {
    throw new HttpError(
      code,
      shown,
      `${where}: only https is allowed (a plain http download can be altered by anyone on the path); serve the package over https`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw new HttpError(
      code,
      shown,
      `${where}: the URL carries user info (credentials); packages are fetched without credentials, so remove "user:password@" from the URL`,
    );
  }
  return u;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Maps whatever got or node threw to an HttpError. */
function classify(err: unknown, url: string, bytes: number, timeouts: { connect: number; read: number }): HttpError {
  if (err instanceof HttpError) return err;
  const code = codeOf(err);
  const name = (err as { name?: unknown } | null)?.name;
  const detail = messageOf(err);
  if (name === 'AbortError' || code === 'ABORT_ERR' || code === 'ERR_ABORTED') {
    return new HttpError('HTTP_ABORTED', url, `${url}: the download was cancelled`, { bytes, cause: err });
  }
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    const event = (err as { event?: unknown }).event;
    const what =
      event === 'connect' || event === 'secureConnect' || event === 'lookup'
        ? `could not connect within ${timeouts.connect} ms`
        : bytes > 0
          ? `the server stopped sending after ${bytes} bytes (nothing for ${timeouts.read} ms)`
          : `no response within ${timeouts.read} ms`;
    return new HttpError(
      'HTTP_TIMEOUT',
      url,
      `${url}: ${what}; the server or the network is slow or down, retry later`,
      { bytes, cause: err },
    );
  }
  if (code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH') {
    return new HttpError(
      'HTTP_LENGTH_MISMATCH',
      url,
      `${url}: ${detail}; the transfer was cut short or the server's Content-Length is wrong`,
      { bytes, cause: err },
    );
  }
  if (
    code !== undefined &&
    (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('CERT_'))
  ) {
    return new HttpError(
      'HTTP_TLS',
      url,
      `${url}: the TLS connection failed (${code}: ${detail}); if the server uses a private CA, pass its certificate with --ca-file`,
      { bytes, cause: err },
    );
  }
  return new HttpError('HTTP_NETWORK', url, `${url}: network error (${code ?? 'unknown'}: ${detail})`, {
    bytes,
    cause: err,
  });
}

function retryable(err: HttpError): boolean {
  switch (err.code) {
    case 'HTTP_NETWORK':
    case 'HTTP_TIMEOUT':
    case 'HTTP_LENGTH_MISMATCH':
      return true;
    case 'HTTP_STATUS':
      return err.status === 408 || err.status === 429 || (err.status !== undefined && err.status >= 500);
    default:
      return false;
  }
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `err` with the caller's hint added when it is an HTTP status that says the URL is wrong
 * (404/410: `missing`) or not public (401/403: `refused`); anything else unchanged. The HTTP
 * layer does not know what a URL is for (a package, the manifest, the checkin); its caller does.
 */
export function withStatusHint(err: unknown, hints: { missing?: string; refused?: string }): unknown {
  if (!(err instanceof HttpError) || err.code !== 'HTTP_STATUS') return err;
  const hint =
    err.status === 404 || err.status === 410
      ? hints.missing
      : err.status === 401 || err.status === 403
        ? hints.refused
        : undefined;
  if (hint === undefined) return err;
  return new HttpError(err.code, err.url, `${err.message}; ${hint}`, {
    ...(err.status === undefined ? {} : { status: err.status }),
    bytes: err.bytes,
  });
}

function statusError(url: string, status: number, retryAfter: string | undefined): HttpError {
  const hint =
    status === 404 || status === 410
      ? 'nothing is served at this URL'
      : status === 401 || status === 403
        ? 'the server refuses anonymous requests; this URL must be readable without credentials'
        : status === 408 || status === 429 || status >= 500
          ? 'the server failed or is overloaded; retry later'
          : 'expected 200';
  const err = new HttpError('HTTP_STATUS', url, `${url}: HTTP ${status}; ${hint}`, { status });
  if (retryAfter !== undefined) Object.defineProperty(err, 'retryAfter', { value: retryAfter, enumerable: false });
  return err;
}

interface Opened {
  req: Request;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const timeouts = { connect: options.connectTimeoutMs ?? 10_000, read: options.readTimeoutMs ?? 30_000 };
  const retry: RetryOptions = { limit: 2, baseDelayMs: 500, maxDelayMs: 10_000, ...options.retries };
  const signal = options.signal;
  let extraCa = options.ca;
  if (options.caFile !== undefined) {
    try {
      extraCa = `${extraCa ?? ''}\n${readFileSync(options.caFile, 'utf8')}`;
    } catch (err) {
      throw new HttpError(
        'HTTP_CA_FILE',
        options.caFile,
        `cannot read the CA file ${options.caFile}: ${messageOf(err)}; pass a readable PEM file`,
        { cause: err },
      );
    }
  }
  // Node's `ca` replaces the system roots, so the extra CA is added to them, never instead.
  const certificateAuthority = extraCa === undefined ? undefined : [...rootCertificates, extraCa];
  const sleep =
    options.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(done, ms);
        function done() {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        function onAbort() {
          clearTimeout(t);
          reject(new HttpError('HTTP_ABORTED', '', 'the download was cancelled'));
        }
        signal?.addEventListener('abort', onAbort, { once: true });
      }));

  /** One request, following redirects by hand so each hop is checked; resolves at the final response's headers. */
  async function open(rawUrl: string, headers: Record<string, string>): Promise<Opened> {
    let url = checkUrl(rawUrl, 'HTTP_INSECURE_URL');
    const first = displayUrl(url);
    for (let hop = 0; ; hop++) {
      const shown = displayUrl(url);
      const req = got.stream(url, {
        method: 'GET',
        headers: { 'user-agent': userAgent, 'accept-encoding': 'identity', ...headers },
        followRedirect: false,
        throwHttpErrors: false,
        decompress: false,
        strictContentLength: true,
        retry: { limit: 0 },
        timeout: {
          connect: timeouts.connect,
          secureConnect: timeouts.connect,
          socket: timeouts.read,
          response: timeouts.read,
        },
        https: certificateAuthority === undefined ? {} : { certificateAuthority },
        ...(signal === undefined ? {} : { signal }),
      });
      const response = await new Promise<{
        statusCode: number;
        headers: Record<string, string | string[] | undefined>;
      }>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
      }).catch((err: unknown) => {
        req.destroy();
        throw classify(err, shown, 0, timeouts);
      });
      // Keep a late error (e.g. a time-out after we stopped listening) from crashing the process.
      req.on('error', () => undefined);
      const status = response.statusCode;
      if (status >= 300 && status < 400 && status !== 304) {
        req.destroy();
        const location = header(response.headers, 'location');
        if (location === undefined)
          throw new HttpError('HTTP_STATUS', shown, `${shown}: HTTP ${status} without a Location header`, { status });
        if (hop >= MAX_REDIRECTS) {
          throw new HttpError(
            'HTTP_TOO_MANY_REDIRECTS',
            first,
            `${first}: more than ${MAX_REDIRECTS} redirects; point download_url at the final URL`,
          );
        }
        let next: string;
        try {
          next = new URL(location, url).toString();
        } catch {
          next = location;
        }
        url = checkUrl(next, 'HTTP_INSECURE_REDIRECT', shown);
        continue;
      }
      return { req, status, headers: response.headers, url: shown };
    }
  }

  async function withRetries<T>(attempt: () => Promise<T>, mayRetry: (err: HttpError) => boolean): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof HttpError) || n >= retry.limit || !mayRetry(err) || signal?.aborted) throw err;
        const backoff = retry.baseDelayMs * 2 ** n * (0.5 + Math.random() / 2);
        const after = retryAfterMs((err as { retryAfter?: string }).retryAfter);
        await sleep(Math.min(retry.maxDelayMs, Math.max(backoff, after ?? 0)));
      }
    }
  }

  async function streamOnce(rawUrl: string, opts: StreamOptions, delivered: { bytes: number }): Promise<StreamResult> {
    const rangeStart = opts.rangeStart ?? 0;
    const headers: Record<string, string> = {};
    if (rangeStart > 0) {
      headers['range'] = `bytes=${rangeStart}-`;
      if (opts.ifRange !== undefined) headers['if-range'] = opts.ifRange;
    }
    if (opts.etag !== undefined) headers['if-none-match'] = opts.etag;
    else if (opts.lastModified !== undefined) headers['if-modified-since'] = opts.lastModified;

    const { req, status, headers: h, url } = await open(rawUrl, headers);
    const etag = header(h, 'etag');
    const lastModified = header(h, 'last-modified');
    const clHeader = header(h, 'content-length');
    const contentLength = clHeader !== undefined && /^\d+$/.test(clHeader) ? Number(clHeader) : undefined;
    const meta = { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };

    if (status === 304 && (opts.etag !== undefined || opts.lastModified !== undefined)) {
      req.destroy();
      return { status, bytes: 0, ...meta, resumed: false };
    }
    let resumed = false;
    if (status === 206 && rangeStart > 0) {
      // A 206 for a different range would splice foreign bytes into the package.
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(h, 'content-range') ?? '');
      if (!m || Number(m[1]) !== rangeStart) {
        req.destroy();
        throw new HttpError(
          'HTTP_RANGE',
          url,
          `${url}: asked for bytes from ${rangeStart}, the server answered Content-Range "${header(h, 'content-range') ?? ''}"`,
        );
      }
      resumed = true;
    } else if (status !== 200) {
      req.destroy();
      throw statusError(url, status, header(h, 'retry-after'));
    }
    const offset = resumed ? rangeStart : 0;
    let total: number | undefined;
    if (resumed) {
      const m = /\/(\d+)$/.exec(header(h, 'content-range') ?? '');
      total = m ? Number(m[1]) : undefined;
    } else total = contentLength;
    const tooLarge = (n: number, announced: boolean) =>
      new HttpError(
        'HTTP_TOO_LARGE',
        url,
        `${url}: the package is larger than the ${opts.maxBytes} bytes allowed (${n} bytes${announced ? ' announced' : ' received so far'}); stopped the download`,
        {
          bytes: delivered.bytes,
          ...(announced ? { announced: n } : {}),
        },
      );
    // Refuse early: the server says outright that it will send more than allowed.
    if (total !== undefined && total > opts.maxBytes) {
      req.destroy();
      throw tooLarge(total, true);
    }

    try {
      opts.onResponse?.({
        status,
        resumed,
        ...meta,
        ...(contentLength === undefined ? {} : { contentLength }),
        ...(total === undefined ? {} : { total }),
      });
    } catch (err) {
      req.destroy(); // the caller's own error, passed on unchanged; the connection is not left open
      throw err;
    }
    let bytes = 0;
    // Events rather than for-await: one promise per 16 KiB TLS record costs measurable throughput.
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      req.on('data', (chunk: Buffer) => {
        if (settled) return;
        bytes += chunk.length;
        // Threat: an endless or oversized body filling memory or disk; stop at the first byte too many.
        if (offset + bytes > opts.maxBytes) return fail(tooLarge(offset + bytes, false));
        delivered.bytes += chunk.length;
        let pending: unknown;
        try {
          pending = opts.onData(chunk);
          opts.onProgress?.({ bytes: offset + bytes, ...(total === undefined ? {} : { total }) });
        } catch (err) {
          return fail(err); // the caller's own error (e.g. a full disk), passed on unchanged
        }
        if (pending instanceof Promise) {
          // The caller asked to wait (a slow disk): pause the socket rather than buffer.
          req.pause();
          pending.then(() => {
            if (!settled) req.resume();
          }, fail);
        }
      });
      req.once('end', () => {
        if (settled) return;
        settled = true;
        resolve();
      });
      req.once('error', (err: unknown) => fail(classify(err, url, delivered.bytes, timeouts)));
    });
    if (contentLength !== undefined && bytes !== contentLength) {
      throw new HttpError(
        'HTTP_LENGTH_MISMATCH',
        url,
        `${url}: the server announced ${contentLength} bytes (Content-Length) and sent ${bytes}; the transfer was cut short or the server's Content-Length is wrong`,
        { bytes: delivered.bytes },
      );
    }
    return { status, bytes, ...meta, ...(contentLength === undefined ? {} : { contentLength }), resumed };
  }

  return {
    async stream(url, opts) {
      const delivered = { bytes: 0 };
      // Once bytes reached the caller a silent retry would feed them twice: only retry before.
      return withRetries(
        () => streamOnce(url, opts, delivered),
        (err) => delivered.bytes === 0 && retryable(err),
      );
    },

    async getBuffer(url, opts) {
      return withRetries(async () => {
        const chunks: Buffer[] = [];
        const r = await streamOnce(
          url,
          {
            maxBytes: opts.maxBytes,
            onData: (c) => chunks.push(c),
            ...(opts.etag === undefined ? {} : { etag: opts.etag }),
          },
          { bytes: 0 },
        );
        if (r.status === 304) return { status: 304 };
        return {
          status: 200,
          body: Buffer.concat(chunks),
          ...(r.etag === undefined ? {} : { etag: r.etag }),
          ...(r.lastModified === undefined ? {} : { lastModified: r.lastModified }),
        };
      }, retryable);
    },
  };
}
