/** The HTTP module's public shapes: options, results, and the client itself. */
import type { RetryOptions } from './retry.js';

/** The bins of this repository; the User-Agent names the one that runs. */
export type BinName = 'mngd-release' | 'mngd-agent';

export interface HttpClientOptions {
  /** the bin making the requests: the User-Agent is "<bin>/<version of package.json>" */
  bin: BinName;
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
  /**
   * the whole call, retries included, must end within this (slow retrieval: a server dripping
   * one byte per second never trips the read time-out); HTTP_DEADLINE otherwise
   */
  deadlineMs?: number;
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
  /** the whole call, retries included, must end within this; HTTP_DEADLINE otherwise */
  deadlineMs?: number;
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

export interface PostOptions {
  body: Buffer;
  contentType: string;
  /** the most bytes of the answer read */
  maxBytes: number;
}

export interface HttpClient {
  getBuffer(url: string, opts: GetBufferOptions): Promise<GetBufferResult>;
  /** POSTs a small body; resolves on a 2xx with the answer, throws HttpError otherwise (retried on 408, 429, 5xx) */
  post(url: string, opts: PostOptions): Promise<{ status: number; body: Buffer }>;
  stream(url: string, opts: StreamOptions): Promise<StreamResult>;
}
