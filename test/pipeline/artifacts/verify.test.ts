import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../../agent/http/index.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { verifyArtifacts, type ArtifactReport } from '../../../pipeline/artifacts/verify.js';
import { EXIT } from '../../../pipeline/cli/command.js';
import type { ReleaseSet } from '../../../pipeline/releases/release-set.js';
import { testTls } from '../../support/tls.js';
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
} from '../../support/https-server.js';
import { releaseRepo, sha256Hex, type TestRelease } from '../../support/release-repo.js';

const PKG = generatedBytes(3, 200_000);
const OTHER = generatedBytes(5, 200_000); // same size, different bytes

function http(extra: Partial<HttpClientOptions> = {}): HttpClient {
  return createHttpClient({
    bin: 'mngd-release',
    caFile: testTls().caFile,
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
    retries: { limit: 2, baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

/** The 1-based line of `key:` in the release file as written. */
async function lineOf(root: string, file: string, key: string): Promise<number> {
  const text = await readFile(join(root, file), 'utf8');
  return text.split('\n').findIndex((l) => l.startsWith(`${key}:`)) + 1;
}

describe('verifyArtifacts', () => {
  let srv: TestServer;
  let other: TestServer;
  const table: Record<string, Handler> = {};
  let stalled: () => void = () => undefined;

  before(async () => {
    other = await startHttpsServer(routes({ '/elsewhere.pkg': servePackage(PKG) }));
    srv = await startHttpsServer(routes(table));
    Object.assign(table, {
      '/ok.pkg': servePackage(PKG),
      '/wrong.pkg': servePackage(OTHER),
      '/truncated.pkg': servePackage(PKG.subarray(0, 150_000)),
      '/endless.pkg': streamBytes(256 * 1024 * 1024),
      '/announced-large.pkg': servePackage(Buffer.concat([PKG, Buffer.alloc(10)])),
      '/missing.pkg': status(404),
      '/flaky.pkg': sequence(status(500), servePackage(PKG)),
      '/down.pkg': status(503),
      '/stall.pkg': servePackage(PKG, { stallAfter: 50_000, onStall: () => stalled() }),
      '/to-http.pkg': redirect(srv.url('/ok.pkg').replace('https:', 'http:')),
      '/to-https.pkg': redirect(`${other.origin}/elsewhere.pkg`),
      '/lying.pkg': servePackage(PKG.subarray(0, 120_000), { contentLength: PKG.length }),
      '/no-etag.pkg': servePackage(PKG, { etag: null }),
    });
  });
  after(async () => {
    await srv.close();
    await other.close();
  });

  async function one(
    path: string,
    client: HttpClient = http(),
    release: Partial<TestRelease> = {},
  ): Promise<{ root: string; set: ReleaseSet; report: ArtifactReport }> {
    const root = await releaseRepo({
      prefixes: [srv.url('/'), `${other.origin}/`],
      releases: [{ version: '1.0.0', url: srv.url(path), body: PKG, ...release }],
    });
    const set = await loadReleaseSet(root);
    assert.equal(set.releases.length, 1, JSON.stringify(set.problems));
    const report = await verifyArtifacts(set, { scope: { kind: 'all' }, http: client });
    return { root, set, report };
  }

  async function expectProblem(
    path: string,
    code: string,
    field: string,
    exitCode: number,
    client?: HttpClient,
  ): Promise<ArtifactReport> {
    const { root, report } = await one(path, client);
    assert.equal(report.exitCode, exitCode);
    assert.equal(report.problems.length, 1);
    const p = report.problems[0]!;
    assert.equal(p.code, code, p.message);
    assert.equal(p.file, 'releases/1.0.0.yaml');
    assert.equal(p.line, await lineOf(root, p.file, field));
    return report;
  }

  it('passes a package that matches its sha256 and size', async () => {
    const { report } = await one('/ok.pkg');
    assert.equal(report.exitCode, EXIT.OK);
    assert.deepEqual(report.problems, []);
    assert.equal(report.results[0]?.outcome, 'verified');
    assert.equal(report.results[0]?.actualSha256, sha256Hex(PKG));
    assert.equal(report.bytes, PKG.length);
  });

  it('fails wrong bytes on the sha256 line, naming the actual hash and the fix (exit 1)', async () => {
    const report = await expectProblem('/wrong.pkg', 'ARTIFACT_SHA256_MISMATCH', 'sha256', EXIT.INVALID);
    const msg = report.problems[0]!.message;
    assert.ok(msg.includes(sha256Hex(OTHER)) && msg.includes(sha256Hex(PKG)), msg);
    assert.match(msg, new RegExp(`set sha256 to ${sha256Hex(OTHER)}; if not, upload the right one`));
  });

  it('fails a truncated package on the size line (exit 1)', async () => {
    const report = await expectProblem('/truncated.pkg', 'ARTIFACT_SIZE_MISMATCH', 'size', EXIT.INVALID);
    assert.match(report.problems[0]!.message, /is 150000 bytes/);
  });

  it('stops a body longer than size as soon as it passes size, having read little (exit 1)', async () => {
    const before = srv.bodyBytes;
    const report = await expectProblem('/endless.pkg', 'ARTIFACT_TOO_LARGE', 'size', EXIT.INVALID);
    assert.ok(report.results[0]!.bytes <= PKG.length, `hashed ${report.results[0]!.bytes} bytes`);
    await new Promise((r) => setImmediate(r));
    // 256 MiB on offer; past the limit only what kernel socket buffers hold may have left the server.
    assert.ok(srv.bodyBytes - before < 48 * 1024 * 1024, `server sent ${srv.bodyBytes - before}`);
  });

  it('refuses a package whose Content-Length is above size before downloading it', async () => {
    const report = await expectProblem('/announced-large.pkg', 'ARTIFACT_TOO_LARGE', 'size', EXIT.INVALID);
    assert.equal(report.results[0]!.bytes, 0);
  });

  it('fails a 404 on the download_url line (exit 1)', async () => {
    const report = await expectProblem('/missing.pkg', 'ARTIFACT_NOT_FOUND', 'download_url', EXIT.INVALID);
    assert.equal(report.results[0]?.httpCode, 'HTTP_STATUS');
  });

  it('retries a 500 and passes when the server then answers', async () => {
    const n = srv.requests.length;
    const { report } = await one('/flaky.pkg');
    assert.equal(report.exitCode, EXIT.OK);
    assert.equal(srv.requests.length - n, 2);
  });

  it('reports a server still failing after the retries as unreachable (exit 3)', async () => {
    const report = await expectProblem('/down.pkg', 'ARTIFACT_UNREACHABLE', 'download_url', EXIT.EXTERNAL);
    assert.equal(report.results[0]?.outcome, 'unreachable');
  });

  it('times out a server that stalls mid-body (exit 3)', async () => {
    const didStall = new Promise<void>((r) => (stalled = r));
    const report = await expectProblem(
      '/stall.pkg',
      'ARTIFACT_UNREACHABLE',
      'download_url',
      EXIT.EXTERNAL,
      http({ readTimeoutMs: 1000 }),
    );
    await didStall;
    assert.equal(report.results[0]?.httpCode, 'HTTP_TIMEOUT');
    assert.equal(report.results[0]?.bytes, 50_000);
  });

  it('refuses a redirect to http (exit 1)', async () => {
    const report = await expectProblem('/to-http.pkg', 'ARTIFACT_INSECURE_URL', 'download_url', EXIT.INVALID);
    assert.equal(report.results[0]?.httpCode, 'HTTP_INSECURE_REDIRECT');
  });

  it('follows a redirect to another https server and verifies what it serves', async () => {
    const { report } = await one('/to-https.pkg');
    assert.equal(report.exitCode, EXIT.OK);
    assert.equal(other.requests.at(-1)?.path, '/elsewhere.pkg');
  });

  it('fails a body shorter than its Content-Length as a broken transfer (exit 3)', async () => {
    const report = await expectProblem(
      '/lying.pkg',
      'ARTIFACT_UNREACHABLE',
      'download_url',
      EXIT.EXTERNAL,
      http({ retries: { limit: 0 } }),
    );
    assert.equal(report.results[0]?.httpCode, 'HTTP_LENGTH_MISMATCH');
  });

  it('counts a mismatch above an unreachable server: the pull request has something to fix (exit 1)', async () => {
    const root = await releaseRepo({
      prefixes: [srv.url('/')],
      releases: [
        { version: '1.0.0', url: srv.url('/down.pkg'), body: PKG },
        { version: '1.0.1', url: srv.url('/wrong.pkg'), body: PKG },
        { version: '1.0.2', url: srv.url('/ok.pkg'), body: PKG },
      ],
    });
    const report = await verifyArtifacts(await loadReleaseSet(root), {
      scope: { kind: 'all' },
      http: http({ retries: { limit: 0 } }),
    });
    assert.deepEqual(report.counts, { verified: 1, cached: 0, mismatch: 1, unreachable: 1 });
    assert.equal(report.exitCode, EXIT.INVALID);
    assert.deepEqual(
      report.results.map((r) => r.version),
      ['1.0.2', '1.0.1', '1.0.0'],
    );
  });

  it('runs at most `concurrency` downloads at once', async () => {
    let active = 0;
    let peak = 0;
    let seen = 0;
    const pkg = servePackage(PKG);
    const held: Array<() => void> = [];
    table['/counted.pkg'] = (req, res, s) => {
      active++;
      seen++;
      peak = Math.max(peak, active);
      res.on('close', () => active--);
      // Hold answers until two requests are open at once (or the last one came), so that a
      // client running more than two at a time would show it.
      held.push(() => pkg(req, res, s));
      if (active >= 2 || seen === 7) for (const go of held.splice(0)) go();
    };
    const versions = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5', '1.0.6'];
    const root = await releaseRepo({
      prefixes: [srv.url('/')],
      releases: versions.map((v) => ({ version: v, url: `${srv.url('/counted.pkg')}?v=${v}`, body: PKG })),
    });
    const report = await verifyArtifacts(await loadReleaseSet(root), {
      scope: { kind: 'all' },
      http: http(),
      concurrency: 2,
    });
    assert.equal(report.counts.verified, 7);
    assert.equal(peak, 2);
  });

  describe('the verified-results cache', () => {
    it('downloads nothing on a re-run over an unchanged package (a conditional request answered 304)', async () => {
      const state = await mkdtemp(join(tmpdir(), 'mngd-state-'));
      const root = await releaseRepo({
        prefixes: [srv.url('/')],
        releases: [{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }],
      });
      const set = await loadReleaseSet(root);
      const first = await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      assert.equal(first.results[0]?.outcome, 'verified');
      const cacheFile = JSON.parse(await readFile(join(state, 'artifact-cache.json'), 'utf8')) as {
        entries: Record<string, unknown>;
      };
      assert.equal(Object.keys(cacheFile.entries).length, 1);

      const sentBefore = srv.bodyBytes;
      const n = srv.requests.length;
      const second = await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      assert.equal(second.exitCode, EXIT.OK);
      assert.equal(second.results[0]?.outcome, 'cached');
      assert.equal(second.bytes, 0);
      assert.equal(srv.bodyBytes, sentBefore, 'no body bytes were sent the second time');
      assert.equal(srv.requests.length - n, 1);
      assert.ok(srv.requests.at(-1)?.headers['if-none-match']);
    });

    it('uses Last-Modified when the server gives no ETag', async () => {
      const state = await mkdtemp(join(tmpdir(), 'mngd-state-'));
      const root = await releaseRepo({
        prefixes: [srv.url('/')],
        releases: [{ version: '1.0.0', url: srv.url('/no-etag.pkg'), body: PKG }],
      });
      const set = await loadReleaseSet(root);
      await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      const sentBefore = srv.bodyBytes;
      const second = await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      assert.equal(second.results[0]?.outcome, 'cached');
      assert.equal(srv.bodyBytes, sentBefore);
      assert.equal(srv.requests.at(-1)?.headers['if-modified-since'], 'Wed, 25 Nov 2026 10:00:00 GMT');
    });

    it('verifies again, and catches it, when the package behind the URL was replaced', async () => {
      const state = await mkdtemp(join(tmpdir(), 'mngd-state-'));
      table['/replaced.pkg'] = servePackage(PKG, { etag: '"v1"' });
      const root = await releaseRepo({
        prefixes: [srv.url('/')],
        releases: [{ version: '1.0.0', url: srv.url('/replaced.pkg'), body: PKG }],
      });
      const set = await loadReleaseSet(root);
      assert.equal(
        (await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state })).exitCode,
        EXIT.OK,
      );
      table['/replaced.pkg'] = servePackage(OTHER, { etag: '"v2"' });
      const second = await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      assert.equal(second.exitCode, EXIT.INVALID);
      assert.equal(second.problems[0]?.code, 'ARTIFACT_SHA256_MISMATCH');
      const cacheFile = JSON.parse(await readFile(join(state, 'artifact-cache.json'), 'utf8')) as {
        entries: Record<string, unknown>;
      };
      assert.deepEqual(cacheFile.entries, {}, 'a failed package leaves the cache');
    });

    it('treats an unreadable cache file as empty', async () => {
      const state = await mkdtemp(join(tmpdir(), 'mngd-state-'));
      await writeFile(join(state, 'artifact-cache.json'), '{not json');
      const { set } = await one('/ok.pkg');
      const report = await verifyArtifacts(set, { scope: { kind: 'all' }, http: http(), stateDir: state });
      assert.equal(report.results[0]?.outcome, 'verified');
    });
  });
});
