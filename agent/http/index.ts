/**
 * The one HTTP module of the repository: the pipeline (verify-artifacts, import) and the agent
 * (manifest and package downloads) both fetch through it, so network policy lives in one place.
 *
 *   const http = createHttpClient({ bin: 'mngd-agent', caFile, connectTimeoutMs, readTimeoutMs, retries, signal });
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
 * Policy, for every request (the parts: url.ts, errors.ts, retry.ts, transport.ts, stream.ts):
 * - https only, no user info in the URL, no credentials ever sent (no Authorization, no cookies);
 *   redirects are followed (at most 10) only to https URLs without user info.
 * - connect time-out (TCP + TLS) and read time-out (idle time between bytes: a stalled body
 *   fails; a slow but moving one does not).
 * - retries with exponential backoff (and Retry-After, capped) on network errors, time-outs,
 *   408, 429 and 5xx, but only before any body byte reached the caller: a failure mid-body is
 *   thrown so that the caller decides (the agent resumes with rangeStart).
 * - the body must be exactly Content-Length bytes when the server sends one.
 * - raw bytes: Accept-Encoding: identity, no decompression (the hash is over what the server stores).
 * - User-Agent: the bin that runs and this package's version, e.g. "mngd-agent/0.1.0".
 *
 * Errors are HttpError (an ExternalError, so exit 3 unless the caller classifies it) with a code;
 * messages name the URL without its query string (signed URLs carry secrets there).
 */
import { PACKAGE_VERSION } from '../embedded.js';
import { abortableSleep, retrier, retryable, RETRY_DEFAULTS } from './retry.js';
import { withDeadline } from './deadline.js';
import { streamOnce } from './stream.js';
import { postOnce } from './post.js';
import { certificateAuthorities, tlsAgent, type TransportOptions } from './transport.js';
import type { BinName, HttpClient, HttpClientOptions } from './types.js';

export { displayUrl } from './url.js';
export { HttpError, withStatusHint, type HttpErrorCode } from './errors.js';
export type { RetryOptions } from './retry.js';
export type * from './types.js';

export { PACKAGE_VERSION } from '../embedded.js';

export function userAgentOf(bin: BinName): string {
  return `${bin}/${PACKAGE_VERSION}`;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const signal = options.signal;
  const t: TransportOptions = {
    userAgent: userAgentOf(options.bin),
    timeouts: { connect: options.connectTimeoutMs ?? 10_000, read: options.readTimeoutMs ?? 30_000 },
    agent: tlsAgent(certificateAuthorities(options.caFile, options.ca)),
    signal,
  };
  const withRetries = retrier(
    { ...RETRY_DEFAULTS, ...options.retries },
    options.sleep ?? abortableSleep(signal),
    signal,
  );

  return {
    async stream(url, opts) {
      const delivered = { bytes: 0 };
      const deadline = opts.deadlineMs === undefined ? null : Date.now() + opts.deadlineMs;
      // Once bytes reached the caller a silent retry would feed them twice: only retry before.
      return withRetries(
        () => withDeadline(url, deadline, opts.deadlineMs, t, delivered, (tt) => streamOnce(url, opts, delivered, tt)),
        (err) => delivered.bytes === 0 && retryable(err),
      );
    },

    post(url, opts) {
      // A report carries ids the server stores once: sending it again after a lost answer is safe.
      return withRetries(() => postOnce(url, opts, t), retryable);
    },

    async getBuffer(url, opts) {
      const deadline = opts.deadlineMs === undefined ? null : Date.now() + opts.deadlineMs;
      return withRetries(async () => {
        const chunks: Buffer[] = [];
        const etag = opts.etag === undefined ? {} : { etag: opts.etag };
        const delivered = { bytes: 0 };
        const r = await withDeadline(url, deadline, opts.deadlineMs, t, delivered, (tt) =>
          streamOnce(url, { maxBytes: opts.maxBytes, onData: (c) => chunks.push(c), ...etag }, delivered, tt),
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
