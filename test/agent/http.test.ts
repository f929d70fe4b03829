import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  createHttpClient,
  displayUrl,
  HttpError,
  PACKAGE_VERSION,
  type HttpClient,
  type HttpClientOptions,
} from '../../agent/http/index.js';
import { ExternalError } from '../../schema/errors.js';
import { testTls } from '../support/tls.js';
import {
  generatedBytes,
  redirect,
  routes,
  sequence,
  servePackage,
  startHttpsServer,
  status,
  streamBytes,
  type Handler,
  type TestServer,
} from '../support/https-server.js';

const PKG = generatedBytes(7, 300_000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A broken CDN: answers any Range with a 206 for bytes from `from` on (a valid range, but not the one asked for). */
function skipsAhead(body: Buffer, from: number): Handler {
  return (_req, res) => {
    res.writeHead(206, {
      'content-length': String(body.length - from),
      'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
    });
    res.end(body.subarray(from));
  };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function client(extra: Partial<HttpClientOptions> = {}): HttpClient {
  return createHttpClient({
    bin: 'mngd-release',
    caFile: testTls().caFile,
    readTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    retries: { limit: 2, baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

describe('http client', () => {
  let srv: TestServer;
  let other: TestServer;
  let stalled: () => void = () => undefined;

  before(async () => {
    other = await startHttpsServer(routes({ '/moved/pkg': servePackage(PKG) }));
    srv = await startHttpsServer(
      routes({
        '/pkg': servePackage(PKG),
        '/no-ranges': servePackage(PKG, { ranges: false }),
        '/skips-ahead': skipsAhead(PKG, 2000),
        '/missing': status(404),
        '/flaky': sequence(status(500), servePackage(PKG)),
        '/down': status(503, { 'retry-after': '0' }),
        '/stall': servePackage(PKG, { stallAfter: 100_000, onStall: () => stalled() }),
        '/lying': servePackage(PKG, { contentLength: PKG.length + 1000 }),
        '/endless': streamBytes(512 * 1024 * 1024),
        '/to-http': redirect('http://127.0.0.1:9/pkg'),
        '/to-creds': redirect('https://user:pw@127.0.0.1:9/pkg'),
        '/to-https': redirect(`${other.origin}/moved/pkg`, 301),
        '/loop': redirect('/loop'),
        '/silent': () => undefined, // accepts the request, never answers
      }),
    );
  });
  after(async () => {
    await srv.close();
    await other.close();
  });

  it('fetches a document with its ETag and Last-Modified, naming itself and sending no credentials', async () => {
    const r = await client().getBuffer(srv.url('/pkg'), { maxBytes: PKG.length });
    assert.equal(r.status, 200);
    assert.ok(r.status === 200 && r.body.equals(PKG));
    assert.ok(r.status === 200 && r.etag !== undefined && r.lastModified === 'Wed, 25 Nov 2026 10:00:00 GMT');
    const req = srv.requests.at(-1);
    assert.match(String(req?.headers['user-agent']), /^mngd-release\/\d+\.\d+\.\d+$/);
    assert.equal(req?.headers['user-agent'], `mngd-release/${PACKAGE_VERSION}`);
    assert.equal(req?.headers['authorization'], undefined);
    assert.equal(req?.headers['cookie'], undefined);
  });

  it('answers 304 to a conditional request for an unchanged document', async () => {
    const first = await client().getBuffer(srv.url('/pkg'), { maxBytes: PKG.length });
    assert.ok(first.status === 200 && first.etag);
    const again = await client().getBuffer(srv.url('/pkg'), { maxBytes: PKG.length, etag: first.etag });
    assert.deepEqual(again, { status: 304 });
    assert.equal(srv.requests.at(-1)?.headers['if-none-match'], first.etag);
  });

  it('refuses a document whose Content-Length is above maxBytes without reading it', async () => {
    const err = await rejectsWith(client().getBuffer(srv.url('/pkg'), { maxBytes: 1024 }), 'HTTP_TOO_LARGE');
    assert.equal(err.bytes, 0);
  });

  it('stops an endless body just past maxBytes: the client read, and the server sent, little', async () => {
    const before = srv.bodyBytes;
    let seen = 0;
    const err = await rejectsWith(
      client().stream(srv.url('/endless'), { maxBytes: 1_000_000, onData: (c) => (seen += c.length) }),
      'HTTP_TOO_LARGE',
    );
    assert.ok(seen <= 1_000_000, `delivered ${seen}`);
    assert.equal(err.bytes, seen);
    // The server offers 512 MiB; past the limit only what kernel socket buffers hold (here up to
    // 32 MiB receive + 4 MiB send) may have left it.
    await new Promise((r) => setImmediate(r));
    assert.ok(srv.bodyBytes - before < 48 * 1024 * 1024, `server sent ${srv.bodyBytes - before} bytes`);
  });

  it('streams a package chunk by chunk with progress and the metadata of the response', async () => {
    const hash = createHash('sha256');
    const progress: number[] = [];
    const r = await client().stream(srv.url('/pkg'), {
      maxBytes: PKG.length,
      onData: (c) => hash.update(c),
      onProgress: (p) => progress.push(p.bytes),
    });
    assert.equal(hash.digest('hex'), sha(PKG));
    assert.deepEqual(
      { status: r.status, bytes: r.bytes, contentLength: r.contentLength, resumed: r.resumed },
      { status: 200, bytes: PKG.length, contentLength: PKG.length, resumed: false },
    );
    assert.equal(progress.at(-1), PKG.length);
  });

  it('waits for a promise returned by onData before delivering the next chunk', async () => {
    let pending = false;
    let overlapped = false;
    const hash = createHash('sha256');
    await client().stream(srv.url('/pkg'), {
      maxBytes: PKG.length,
      onData: (c) => {
        if (pending) overlapped = true;
        pending = true;
        hash.update(c);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            pending = false;
            resolve();
          }),
        );
      },
    });
    assert.equal(overlapped, false);
    assert.equal(hash.digest('hex'), sha(PKG));
  });

  it('passes an error thrown by onData through unchanged, without retrying', async () => {
    const n = srv.requests.length;
    const diskFull = new Error('ENOSPC: no space left on device');
    await assert.rejects(
      client().stream(srv.url('/pkg'), {
        maxBytes: PKG.length,
        onData: () => {
          throw diskFull;
        },
      }),
      (err) => err === diskFull,
    );
    assert.equal(srv.requests.length - n, 1);
  });

  it('closes the connection when onResponse throws, passing the error through', { timeout: 10_000 }, async () => {
    // A read time-out of a minute: only destroying the request closes the connection in time.
    let closed: Promise<void> | undefined;
    const hold = await startHttpsServer((_req, res) => {
      closed = new Promise((resolve) => res.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PKG.length) });
      res.write(PKG.subarray(0, 1000));
    });
    try {
      const cannotTruncate = new Error('EIO: i/o error, ftruncate');
      await assert.rejects(
        client({ readTimeoutMs: 60_000 }).stream(hold.url('/pkg'), {
          maxBytes: PKG.length,
          onResponse: () => {
            throw cannotTruncate;
          },
          onData: () => undefined,
        }),
        (err) => err === cannotTruncate,
      );
      assert.ok(closed, 'the server saw the request');
      await closed;
    } finally {
      await hold.close();
    }
  });

  it('resumes with Range and reports resumed=true on a 206', async () => {
    const hash = createHash('sha256').update(PKG.subarray(0, 1000));
    let told: { resumed: boolean; total?: number } | undefined;
    const r = await client().stream(srv.url('/pkg'), {
      maxBytes: PKG.length,
      rangeStart: 1000,
      onResponse: (i) => (told = i),
      onData: (c) => hash.update(c),
    });
    assert.equal(told?.resumed, true);
    assert.equal(told?.total, PKG.length);
    assert.equal(r.status, 206);
    assert.equal(r.resumed, true);
    assert.equal(r.bytes, PKG.length - 1000);
    assert.equal(hash.digest('hex'), sha(PKG));
  });

  it('refuses a 206 whose Content-Range starts elsewhere than asked: no foreign byte is spliced in', async () => {
    const chunks: Buffer[] = [];
    const err = await rejectsWith(
      client().stream(srv.url('/skips-ahead'), {
        maxBytes: PKG.length,
        rangeStart: 1000,
        onData: (c) => chunks.push(c),
      }),
      'HTTP_RANGE',
    );
    assert.match(err.message, /asked for bytes from 1000, the server answered Content-Range "bytes 2000-/);
    assert.equal(chunks.length, 0, 'no byte of the wrong range reached the caller');
  });

  it('reports resumed=false when the server ignores Range and sends everything', async () => {
    const chunks: Buffer[] = [];
    const told: Array<boolean | number> = [];
    const r = await client().stream(srv.url('/no-ranges'), {
      maxBytes: PKG.length,
      rangeStart: 1000,
      onResponse: (info) => told.push(info.resumed, chunks.length),
      onData: (c) => chunks.push(c),
    });
    assert.equal(r.status, 200);
    assert.equal(r.resumed, false);
    assert.deepEqual(told, [false, 0], 'onResponse came once, before the first chunk');
    assert.ok(Buffer.concat(chunks).equals(PKG));
  });

  it('gives a 404 as HTTP_STATUS carrying the status, without retrying', async () => {
    const n = srv.requests.length;
    const err = await rejectsWith(client().getBuffer(srv.url('/missing'), { maxBytes: 100 }), 'HTTP_STATUS');
    assert.equal(err.status, 404);
    assert.equal(srv.requests.length - n, 1);
    assert.ok(err instanceof ExternalError);
  });

  it('retries a 500 and succeeds on the next answer', async () => {
    const n = srv.requests.length;
    const r = await client().getBuffer(srv.url('/flaky'), { maxBytes: PKG.length });
    assert.ok(r.status === 200 && r.body.equals(PKG));
    assert.equal(srv.requests.length - n, 2);
  });

  it('gives up after the retry limit on a server that keeps failing', async () => {
    const n = srv.requests.length;
    const err = await rejectsWith(
      client({ retries: { limit: 3, baseDelayMs: 1, maxDelayMs: 2 } }).stream(srv.url('/down'), {
        maxBytes: 100,
        onData: () => undefined,
      }),
      'HTTP_STATUS',
    );
    assert.equal(err.status, 503);
    assert.equal(srv.requests.length - n, 4);
  });

  it('times out a body that stalls, and does not retry once bytes were delivered', async () => {
    const n = srv.requests.length;
    const didStall = new Promise<void>((r) => (stalled = r));
    let seen = 0;
    const err = await rejectsWith(
      client({ readTimeoutMs: 1000 }).stream(srv.url('/stall'), {
        maxBytes: PKG.length,
        onData: (c) => (seen += c.length),
      }),
      'HTTP_TIMEOUT',
    );
    await didStall;
    assert.equal(seen, 100_000);
    assert.equal(err.bytes, 100_000);
    assert.equal(srv.requests.length - n, 1);
  });

  it('times out a server that never answers, retrying it', async () => {
    const n = srv.requests.length;
    const err = await rejectsWith(
      client({ readTimeoutMs: 100, retries: { limit: 1, baseDelayMs: 1, maxDelayMs: 1 } }).getBuffer(
        srv.url('/silent'),
        { maxBytes: 100 },
      ),
      'HTTP_TIMEOUT',
    );
    assert.match(err.message, /no response within 100 ms/);
    assert.equal(srv.requests.length - n, 2);
  });

  it('refuses a redirect to http', async () => {
    const err = await rejectsWith(
      client().getBuffer(srv.url('/to-http'), { maxBytes: PKG.length }),
      'HTTP_INSECURE_REDIRECT',
    );
    assert.match(err.message, /http:\/\/127\.0\.0\.1:9\/pkg/);
  });

  it('refuses a redirect to a URL carrying credentials, without showing them', async () => {
    const err = await rejectsWith(
      client().getBuffer(srv.url('/to-creds'), { maxBytes: PKG.length }),
      'HTTP_INSECURE_REDIRECT',
    );
    assert.doesNotMatch(err.message, /pw/);
  });

  it('follows a redirect to another https server', async () => {
    const r = await client().getBuffer(srv.url('/to-https'), { maxBytes: PKG.length });
    assert.ok(r.status === 200 && r.body.equals(PKG));
    assert.equal(other.requests.at(-1)?.path, '/moved/pkg');
  });

  it('stops a redirect loop', async () => {
    await rejectsWith(client().getBuffer(srv.url('/loop'), { maxBytes: 100 }), 'HTTP_TOO_MANY_REDIRECTS');
  });

  it('fails when the body is shorter than its Content-Length', async () => {
    await rejectsWith(
      client({ retries: { limit: 0 } }).stream(srv.url('/lying'), {
        maxBytes: PKG.length + 1000,
        onData: () => undefined,
      }),
      'HTTP_LENGTH_MISMATCH',
    );
  });

  it('refuses http and URLs with user info before connecting', async () => {
    const n = srv.requests.length;
    await rejectsWith(
      client().getBuffer(srv.url('/pkg').replace('https:', 'http:'), { maxBytes: 100 }),
      'HTTP_INSECURE_URL',
    );
    const err = await rejectsWith(
      client().getBuffer(srv.url('/pkg').replace('https://', 'https://me:secret@'), { maxBytes: 100 }),
      'HTTP_INSECURE_URL',
    );
    assert.doesNotMatch(err.message, /secret/);
    assert.equal(srv.requests.length, n);
  });

  it('names the URL without its query string in errors', async () => {
    const err = await rejectsWith(
      client().getBuffer(`${srv.url('/missing')}?X-Amz-Signature=topsecret`, { maxBytes: 100 }),
      'HTTP_STATUS',
    );
    assert.doesNotMatch(err.message, /topsecret/);
    assert.match(err.message, /\/missing\?…/);
    assert.equal(displayUrl('https://a:b@h/p?q=1'), 'https://h/p?…');
  });

  it('fails with HTTP_TLS against a server whose CA it does not trust', async () => {
    const err = await rejectsWith(
      createHttpClient({ bin: 'mngd-release', retries: { limit: 0 } }).getBuffer(srv.url('/pkg'), {
        maxBytes: PKG.length,
      }),
      'HTTP_TLS',
    );
    assert.match(err.message, /--ca-file/);
  });

  it('fails with HTTP_NETWORK after retries when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await rejectsWith(client().getBuffer(`https://127.0.0.1:${port}/pkg`, { maxBytes: 100 }), 'HTTP_NETWORK');
  });

  it('refuses an unreadable CA file', () => {
    assert.throws(
      () => createHttpClient({ bin: 'mngd-release', caFile: '/nonexistent/ca.pem' }),
      (e: unknown) => e instanceof HttpError && e.code === 'HTTP_CA_FILE',
    );
  });

  it('stops when the caller aborts', async () => {
    const ac = new AbortController();
    const err = client({ signal: ac.signal }).stream(srv.url('/endless'), {
      maxBytes: 10 ** 9,
      onData: () => ac.abort(),
    });
    await rejectsWith(err, 'HTTP_ABORTED');
  });
});
