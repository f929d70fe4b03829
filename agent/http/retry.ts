/**
 * Retry policy: exponential backoff with jitter (and Retry-After, capped) on network errors,
 * time-outs, a cut-short body, 408, 429 and 5xx. Whether bytes already reached the caller is
 * the caller's part of the decision (`mayRetry`).
 */
import { HttpError } from './errors.js';

export interface RetryOptions {
  /** retries after the first attempt (default 2) */
  limit: number;
  /** first backoff delay; doubles each retry, with jitter (default 500) */
  baseDelayMs: number;
  /** cap for any one delay, Retry-After included (default 10000) */
  maxDelayMs: number;
}

export const RETRY_DEFAULTS: RetryOptions = { limit: 2, baseDelayMs: 500, maxDelayMs: 10_000 };

export function retryable(err: HttpError): boolean {
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
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** A wait that ends early, with HTTP_ABORTED, when `signal` aborts. */
export function abortableSleep(signal: AbortSignal | undefined): (ms: number) => Promise<void> {
  return (ms) =>
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
    });
}

export interface Retrier {
  <T>(attempt: () => Promise<T>, mayRetry: (err: HttpError) => boolean): Promise<T>;
}

export function retrier(policy: RetryOptions, sleep: (ms: number) => Promise<void>, signal?: AbortSignal): Retrier {
  return async (attempt, mayRetry) => {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof HttpError) || n >= policy.limit || !mayRetry(err) || signal?.aborted) throw err;
        const backoff = policy.baseDelayMs * 2 ** n * (0.5 + Math.random() / 2);
        const after = retryAfterMs(err.retryAfter);
        await sleep(Math.min(policy.maxDelayMs, Math.max(backoff, after ?? 0)));
      }
    }
  };
}
