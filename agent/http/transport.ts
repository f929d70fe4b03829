/**
 * One GET through got, redirects followed by hand so that each hop passes the URL policy;
 * resolves at the final response's headers with the body not yet read.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import got, { type Request } from 'got';
import { messageOf } from '../../schema/errors.js';
import { classify, HttpError, type Timeouts } from './errors.js';
import { checkUrl, displayUrl } from './url.js';

const MAX_REDIRECTS = 10;

export type Headers = Record<string, string | string[] | undefined>;

export interface Opened {
  req: Request;
  status: number;
  headers: Headers;
  /** the final URL as shown in messages */
  url: string;
}

export interface TransportOptions {
  userAgent: string;
  timeouts: Timeouts;
  /** connections that trust the system roots plus an extra CA, or undefined for the system roots alone (tlsAgent) */
  agent: HttpsAgent | undefined;
  signal: AbortSignal | undefined;
}

export function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Connections that trust an extra CA besides the system roots, through one TLS context made once:
 * a `ca` option on each request makes Node build a new context (every root certificate parsed
 * again) per connection, native memory V8 does not see; `run` against a flapping CDN held tens
 * of MiB of them (bench/agent-soak). Keep-alive and scheduling as Node's default agent.
 */
export function tlsAgent(ca: string[] | undefined): HttpsAgent | undefined {
  if (ca === undefined) return undefined;
  return new HttpsAgent({
    keepAlive: true,
    scheduling: 'lifo',
    timeout: 5000,
    secureContext: createSecureContext({ ca }),
  });
}

/** The trusted CAs: Node's `ca` replaces the system roots, so an extra CA is added to them, never instead. */
export function certificateAuthorities(caFile: string | undefined, ca: string | undefined): string[] | undefined {
  let extra = ca;
  if (caFile !== undefined) {
    try {
      extra = `${extra ?? ''}\n${readFileSync(caFile, 'utf8')}`;
    } catch (err) {
      const msg = `cannot read the CA file ${caFile}: ${messageOf(err)}; pass a readable PEM file`;
      throw new HttpError('HTTP_CA_FILE', caFile, msg, { cause: err });
    }
  }
  return extra === undefined ? undefined : [...rootCertificates, extra];
}

/**
 * What every request of the agent shares (GET and POST): no redirect followed by got, no retry of
 * its own, no decompression, the same time-outs, CAs and abort signal.
 */
export function requestOptions(t: TransportOptions) {
  return {
    followRedirect: false,
    throwHttpErrors: false,
    decompress: false,
    retry: { limit: 0 },
    timeout: {
      connect: t.timeouts.connect,
      secureConnect: t.timeouts.connect,
      socket: t.timeouts.read,
      response: t.timeouts.read,
    },
    ...(t.agent === undefined ? {} : { agent: { https: t.agent } }),
    ...(t.signal === undefined ? {} : { signal: t.signal }),
  };
}

export async function open(rawUrl: string, headers: Record<string, string>, t: TransportOptions): Promise<Opened> {
  let url = checkUrl(rawUrl, 'HTTP_INSECURE_URL');
  const first = displayUrl(url);
  for (let hop = 0; ; hop++) {
    const shown = displayUrl(url);
    const req = got.stream(url, {
      method: 'GET',
      headers: { 'user-agent': t.userAgent, 'accept-encoding': 'identity', ...headers },
      strictContentLength: true,
      ...requestOptions(t),
    });
    const response = await new Promise<{ statusCode: number; headers: Headers }>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    }).catch((err: unknown) => {
      req.destroy();
      throw classify(err, shown, 0, t.timeouts);
    });
    // Keep a late error (e.g. a time-out after we stopped listening) from crashing the process.
    req.on('error', () => undefined);
    const status = response.statusCode;
    if (status < 300 || status >= 400 || status === 304) return { req, status, headers: response.headers, url: shown };
    req.destroy();
    const location = header(response.headers, 'location');
    if (location === undefined)
      throw new HttpError('HTTP_STATUS', shown, `${shown}: HTTP ${status} without a Location header`, { status });
    if (hop >= MAX_REDIRECTS) {
      const msg = `${first}: more than ${MAX_REDIRECTS} redirects; point download_url at the final URL`;
      throw new HttpError('HTTP_TOO_MANY_REDIRECTS', first, msg);
    }
    let next: string;
    try {
      next = new URL(location, url).toString();
    } catch {
      next = location;
    }
    url = checkUrl(next, 'HTTP_INSECURE_REDIRECT', shown);
  }
}
