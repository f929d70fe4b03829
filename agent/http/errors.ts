/** HttpError, and the mapping of whatever got or node threw (or a status) to one. */
import { ExternalError, messageOf } from '../../schema/errors.js';

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
  | 'HTTP_DEADLINE'
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
  /** for HTTP_STATUS: the server's Retry-After, read by the retry policy */
  readonly retryAfter: string | undefined;

  constructor(
    code: HttpErrorCode,
    url: string,
    message: string,
    extra: { status?: number; bytes?: number; announced?: number; retryAfter?: string; cause?: unknown } = {},
  ) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.url = url;
    this.status = extra.status;
    this.bytes = extra.bytes ?? 0;
    this.announced = extra.announced;
    this.retryAfter = extra.retryAfter;
  }
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

function isTls(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('CERT_');
}

export interface Timeouts {
  connect: number;
  read: number;
}

/** Maps whatever got or node threw to an HttpError. */
export function classify(err: unknown, url: string, bytes: number, timeouts: Timeouts): HttpError {
  if (err instanceof HttpError) return err;
  const c = (err as { code?: unknown } | null)?.code;
  const code = typeof c === 'string' ? c : undefined;
  const name = (err as { name?: unknown } | null)?.name;
  const detail = messageOf(err);
  const extra = { bytes, cause: err };
  if (name === 'AbortError' || code === 'ABORT_ERR' || code === 'ERR_ABORTED') {
    return new HttpError('HTTP_ABORTED', url, `${url}: the download was cancelled`, extra);
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
      extra,
    );
  }
  if (code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH') {
    const msg = `${url}: ${detail}; the transfer was cut short or the server's Content-Length is wrong`;
    return new HttpError('HTTP_LENGTH_MISMATCH', url, msg, extra);
  }
  if (code !== undefined && isTls(code)) {
    const msg = `${url}: the TLS connection failed (${code}: ${detail}); if the server uses a private CA, pass its certificate with --ca-file`;
    return new HttpError('HTTP_TLS', url, msg, extra);
  }
  return new HttpError('HTTP_NETWORK', url, `${url}: network error (${code ?? 'unknown'}: ${detail})`, extra);
}

/** The error for a final response whose status is not what was asked for. */
export function statusError(url: string, status: number, retryAfter: string | undefined): HttpError {
  const hint =
    status === 404 || status === 410
      ? 'nothing is served at this URL'
      : status === 401 || status === 403
        ? 'the server refuses anonymous requests; this URL must be readable without credentials'
        : status === 408 || status === 429 || status >= 500
          ? 'the server failed or is overloaded; retry later'
          : 'expected 200';
  return new HttpError('HTTP_STATUS', url, `${url}: HTTP ${status}; ${hint}`, {
    status,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
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
