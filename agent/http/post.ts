/**
 * One POST through got: a small body (the checkin's report) to a URL that passes the URL policy,
 * with the same time-outs and CAs as a GET. No redirect is followed (a 3xx is an error: the
 * report is never re-sent somewhere the configuration did not name); the answer is read up to
 * `maxBytes`. A status outside 2xx is an HTTP_STATUS error, retried by the caller's policy.
 */
import got from 'got';
import { classify, HttpError, statusError } from './errors.js';
import { header, requestOptions, type TransportOptions } from './transport.js';
import type { PostOptions } from './types.js';
import { checkUrl, displayUrl } from './url.js';

export async function postOnce(
  rawUrl: string,
  opts: PostOptions,
  t: TransportOptions,
): Promise<{ status: number; body: Buffer }> {
  const url = checkUrl(rawUrl, 'HTTP_INSECURE_URL');
  const shown = displayUrl(url);
  const req = got.stream.post(url, {
    body: opts.body,
    headers: { 'user-agent': t.userAgent, 'content-type': opts.contentType, 'accept-encoding': 'identity' },
    ...requestOptions(t),
  });
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    const response = await new Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined> }>(
      (resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
      },
    );
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) {
        req.destroy();
        throw new HttpError('HTTP_TOO_LARGE', shown, `${shown}: the answer is over ${opts.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    const status = response.statusCode;
    if (status < 200 || status >= 300) throw statusError(shown, status, header(response.headers, 'retry-after'));
    return { status, body: Buffer.concat(chunks) };
  } catch (err) {
    req.destroy();
    throw classify(err, shown, 0, t.timeouts);
  }
}
