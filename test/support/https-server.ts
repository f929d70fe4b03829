/**
 * A real HTTPS server on 127.0.0.1 (random port) with the test CA from tls.ts, plus handlers
 * that serve a package the way a CDN does (ETag, Last-Modified, Range, conditional requests).
 * Reusable by any test that downloads: pass `tls.caFile` as the client's extra CA.
 *
 *   const srv = await startHttpsServer(routes({ '/pkg': servePackage(bytes) }));
 *   srv.url('/pkg'); srv.requests; srv.bodyBytes; await srv.close();
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testTls } from './tls.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, srv: TestServer) => void;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface TestServer {
  server: Server;
  /** https://127.0.0.1:<port> */
  origin: string;
  url(path: string): string;
  /** every request, in order of arrival */
  requests: RecordedRequest[];
  /** body bytes the handlers handed to the socket (servePackage and streamBytes count them) */
  bodyBytes: number;
  close(): Promise<void>;
}

export async function startHttpsServer(handler: Handler): Promise<TestServer> {
  const tls = testTls();
  const server = createServer({ key: tls.key, cert: tls.cert });
  const srv: TestServer = {
    server,
    origin: '',
    url: (path) => `${srv.origin}${path}`,
    requests: [],
    bodyBytes: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    srv.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    handler(req, res, srv);
  });
  // A client that gives up mid-transfer resets the socket: that is expected here.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  srv.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return srv;
}

/** Dispatches on the path (query ignored); anything else is a 404. */
export function routes(table: Record<string, Handler>): Handler {
  return (req, res, srv) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const h = table[path];
    if (h) h(req, res, srv);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  };
}

/** Each request takes the next handler; the last one repeats (e.g. a 500, then the package). */
export function sequence(...handlers: Handler[]): Handler {
  let n = 0;
  return (req, res, srv) => {
    const h = handlers[Math.min(n++, handlers.length - 1)];
    if (h) h(req, res, srv);
  };
}

export function status(code: number, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers });
    res.end(`status ${code}\n`);
  };
}

export function redirect(location: string, code = 302): Handler {
  return (_req, res) => {
    res.writeHead(code, { location });
    res.end();
  };
}

export interface PackageOptions {
  etag?: string | null;
  lastModified?: string | null;
  /** honour Range requests (default true) */
  ranges?: boolean;
  /** a Content-Length to announce instead of the true one (a lying server) */
  contentLength?: number;
  /** after this many body bytes, stop sending but keep the connection open (a stalled server) */
  stallAfter?: number;
  /** called once the server stalled */
  onStall?: () => void;
}

/** Serves `body` like a CDN: ETag/Last-Modified, 304 on a matching conditional request, Range -> 206. */
export function servePackage(body: Buffer, opts: PackageOptions = {}): Handler {
  const etag =
    opts.etag === undefined ? `"${body.length.toString(16)}-${body.subarray(0, 8).toString('hex')}"` : opts.etag;
  const lastModified = opts.lastModified === undefined ? 'Wed, 25 Nov 2026 10:00:00 GMT' : opts.lastModified;
  return (req, res, srv) => {
    const meta: Record<string, string> = {};
    if (etag !== null) meta['etag'] = etag;
    if (lastModified !== null) meta['last-modified'] = lastModified;
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if (
      (inm !== undefined && etag !== null && inm === etag) ||
      (inm === undefined && ims !== undefined && lastModified !== null && ims === lastModified)
    ) {
      res.writeHead(304, meta);
      res.end();
      return;
    }
    let start = 0;
    let code = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
    const ifRange = req.headers['if-range'];
    if (range && opts.ranges !== false && (ifRange === undefined || ifRange === etag || ifRange === lastModified)) {
      start = Number(range[1]);
      code = 206;
      meta['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const part = body.subarray(start);
    res.writeHead(code, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': String(opts.contentLength ?? part.length),
      ...meta,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (opts.stallAfter !== undefined) {
      const sent = part.subarray(0, opts.stallAfter);
      srv.bodyBytes += sent.length;
      res.write(sent, () => opts.onStall?.());
      return; // never ends: the client must time out
    }
    srv.bodyBytes += part.length;
    if (opts.contentLength !== undefined && opts.contentLength > part.length) {
      // Announced more than it has: send what there is, then close the connection.
      res.write(part, () => res.socket?.destroy());
      return;
    }
    res.end(part);
  };
}

/**
 * Streams `total` generated bytes (byte i = i mod 251) with backpressure, counting what it hands
 * to the socket, so a test can prove the client stopped reading early.
 */
export function streamBytes(total: number, headers: Record<string, string> = {}): Handler {
  return (req, res, srv) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let sent = 0;
    const chunkSize = 64 * 1024;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunkSize, total - sent);
        const chunk = generatedBytes(sent, n);
        sent += n;
        srv.bodyBytes += n;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  };
}

/** The deterministic bytes streamBytes serves: byte i = i mod 251. */
export function generatedBytes(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (offset + i) % 251;
  return b;
}
