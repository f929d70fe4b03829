/**
 * A small HTTPS "CDN" on loopback for the demo and the fleet benchmark: serves files from local
 * folders the way a CDN does (strong ETag, If-None-Match -> 304, Range -> 206, short
 * Cache-Control on latest.json) and counts requests and body bytes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import type { LoopbackTls } from '../loopback-tls.js';

export interface CdnStats {
  requests: number;
  notModified: number;
  bodyBytes: number;
}

export interface Cdn {
  origin: string;
  url(path: string): string;
  stats: CdnStats;
  close(): Promise<void>;
}

/** `mounts` maps a URL prefix ("/agent/") to a folder. */
export async function startCdn(tls: LoopbackTls, mounts: Record<string, string>): Promise<Cdn> {
  const stats: CdnStats = { requests: 0, notModified: 0, bodyBytes: 0 };
  // Files here change only when the demo publishes; hashing each request keeps ETags honest.
  const server: Server = createServer({ key: tls.key, cert: tls.cert, keepAlive: true }, (req, res) => {
    stats.requests++;
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'https://cdn').pathname);
      const mount = Object.keys(mounts)
        .sort((a, b) => b.length - a.length)
        .find((m) => path.startsWith(m));
      const rel = mount === undefined ? null : normalize(path.slice(mount.length));
      if (
        mount === undefined ||
        rel === null ||
        rel.startsWith('..') ||
        rel.includes(`${sep}..`) ||
        (req.method !== 'GET' && req.method !== 'HEAD')
      ) {
        res.writeHead(404).end();
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(join(mounts[mount]!, rel));
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      const headers: Record<string, string> = {
        etag,
        'accept-ranges': 'bytes',
        'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        'cache-control': path.endsWith('latest.json') ? 'public, max-age=60' : 'public, max-age=31536000, immutable',
      };
      if (req.headers['if-none-match'] === etag) {
        stats.notModified++;
        res.writeHead(304, headers).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
      const start = range ? Number(range[1]) : 0;
      if (range && start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      const part = body.subarray(start);
      if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      headers['content-length'] = String(part.length);
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      stats.bodyBytes += part.length;
      res.end(part);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (p) => `${origin}${p}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
