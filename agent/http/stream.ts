/**
 * One streamed GET: conditional and range headers, the checks on the response head (a resume
 * must continue at the byte asked for; an announced size above the limit is refused before a
 * byte is read), then the body chunk by chunk with backpressure and the byte limit.
 */
import { escapeControlChars } from '../../schema/log-text.js';
import { classify, HttpError, statusError } from './errors.js';
import { header, open, type Headers, type TransportOptions } from './transport.js';
import type { StreamOptions, StreamResult } from './types.js';

function requestHeaders(opts: StreamOptions, rangeStart: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rangeStart > 0) {
    headers['range'] = `bytes=${rangeStart}-`;
    if (opts.ifRange !== undefined) headers['if-range'] = opts.ifRange;
  }
  if (opts.etag !== undefined) headers['if-none-match'] = opts.etag;
  else if (opts.lastModified !== undefined) headers['if-modified-since'] = opts.lastModified;
  return headers;
}

/** Whether a 206 continues at rangeStart, and the package's whole size when the server says it. */
function resumeOf(url: string, h: Headers, rangeStart: number): { total: number | undefined } {
  const contentRange = header(h, 'content-range') ?? '';
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange);
  // Threat: a 206 for another range would splice foreign bytes into the package.
  if (!m || Number(m[1]) !== rangeStart) {
    // The server's header is never echoed raw: shown escaped and cut (log injection).
    const shown = escapeControlChars(contentRange.slice(0, 80));
    const msg = `${url}: asked for bytes from ${rangeStart}, the server answered Content-Range "${shown}"`;
    throw new HttpError('HTTP_RANGE', url, msg);
  }
  return { total: m[3] === '*' ? undefined : Number(m[3]) };
}

export async function streamOnce(
  rawUrl: string,
  opts: StreamOptions,
  delivered: { bytes: number },
  t: TransportOptions,
): Promise<StreamResult> {
  const rangeStart = opts.rangeStart ?? 0;
  const { req, status, headers: h, url } = await open(rawUrl, requestHeaders(opts, rangeStart), t);
  const etag = header(h, 'etag');
  const lastModified = header(h, 'last-modified');
  const clHeader = header(h, 'content-length');
  const contentLength = clHeader !== undefined && /^\d+$/.test(clHeader) ? Number(clHeader) : undefined;
  const meta = { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };
  const tooLarge = (n: number, announced: boolean) =>
    new HttpError(
      'HTTP_TOO_LARGE',
      url,
      `${url}: the package is larger than the ${opts.maxBytes} bytes allowed (${n} bytes${announced ? ' announced' : ' received so far'}); stopped the download`,
      { bytes: delivered.bytes, ...(announced ? { announced: n } : {}) },
    );

  let resumed = false;
  let total: number | undefined;
  try {
    if (status === 304 && (opts.etag !== undefined || opts.lastModified !== undefined)) {
      req.destroy();
      return { status, bytes: 0, ...meta, resumed: false };
    }
    if (status === 206 && rangeStart > 0) {
      total = resumeOf(url, h, rangeStart).total;
      resumed = true;
    } else if (status !== 200) {
      throw statusError(url, status, header(h, 'retry-after'));
    } else total = contentLength;
    // Refuse early: the server says outright that it will send more than allowed.
    if (total !== undefined && total > opts.maxBytes) throw tooLarge(total, true);
    // The caller's own error is passed on unchanged; the connection is not left open.
    opts.onResponse?.({
      status,
      resumed,
      ...meta,
      ...(contentLength === undefined ? {} : { contentLength }),
      ...(total === undefined ? {} : { total }),
    });
  } catch (err) {
    req.destroy();
    throw err;
  }
  const offset = resumed ? rangeStart : 0;
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
    req.once('error', (err: unknown) => fail(classify(err, url, delivered.bytes, t.timeouts)));
  });
  // got's streams do not destroy themselves at the end (autoDestroy is off): until destroyed, the
  // request keeps its abort listener on the signal, and with it the caller's onData and whatever
  // that holds (a 16 MiB package's writer: the soak's growth). Destroying after 'end' is a no-op
  // for the connection, which went back to the agent's pool.
  req.destroy();
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
