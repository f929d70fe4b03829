import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { partialPath, pkgPath } from '../../agent/download.js';
import { INLINE_MAX } from '../../agent/package-file.js';
import { sequence, servePackage, status, type Handler } from '../support/https-server.js';
import {
  agentWorld,
  manifestBytes,
  pkg,
  release,
  requestsTo,
  sha256,
  testHttp,
  warnings,
  type Fixture,
} from './support.js';

describe('agent download', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3', 300_000);
  const w = agentWorld([p102]);
  const make = (extra: Parameters<typeof w.make>[0] = {}) => w.make(extra);
  const pkgFiles = async (f: Fixture) => (await readdir(f.state.downloads)).filter((n) => n.endsWith('.pkg'));
  before(() =>
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] }),
    ),
  );

  const bad: { name: string; serve: () => ReturnType<typeof servePackage>; code: RegExp; says?: string }[] = [
    {
      name: 'is missing (404)',
      serve: () => status(404),
      code: /^HTTP_STATUS$/,
      says: 'HTTP 404; nothing is served at this URL; check download_url in the release file, or upload the package',
    },
    {
      name: 'is not public (403)',
      serve: () => status(403),
      code: /^HTTP_STATUS$/,
      says: 'packages must be readable without credentials',
    },
    {
      name: 'has the wrong hash',
      serve: () => servePackage(randomBytes(p103.bytes.length)),
      code: /^DOWNLOAD_HASH_MISMATCH$/,
    },
    {
      name: 'is smaller than signed',
      serve: () => servePackage(p103.bytes.subarray(0, 1000)),
      code: /^DOWNLOAD_SIZE_MISMATCH$/,
    },
    {
      name: 'is larger than signed',
      serve: () => servePackage(Buffer.concat([p103.bytes, Buffer.alloc(10)])),
      code: /^HTTP_TOO_LARGE$/,
    },
    {
      name: 'is truncated in transfer',
      serve: () => servePackage(p103.bytes.subarray(0, 100_000), { contentLength: p103.bytes.length }),
      code: /^HTTP_(LENGTH_MISMATCH|NETWORK)$/,
    },
  ];
  for (const c of bad) {
    it(`hands nothing to the helper when the package ${c.name}, and warns once`, async () => {
      w.cdn.addPkg(p103, c.serve());
      const f = await make();
      const r = await f.check();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.step, 'download');
      assert.match(r.code ?? '', c.code, r.message);
      assert.equal(w.helper.received.length, 0);
      assert.deepEqual(await pkgFiles(f), [], 'no file carries the verified name');
      const warns = warnings(f.log);
      assert.equal(warns.length, 1, warns.join('\n'));
      assert.ok(
        warns[0]!.startsWith(`SelfUpdate: download failed: 1.0.2 -> 1.0.3 from ${w.cdn.srv.url(p103.path)}: `),
        warns[0],
      );
      assert.ok(
        warns[0]!.includes('staying on 1.0.2') && warns[0]!.includes('(failure 1 of 3 for this package)'),
        warns[0],
      );
      if (c.says !== undefined) assert.ok(warns[0]!.includes(c.says), warns[0]);
    });
  }

  it('gives up on a stalled package download after the read time-out, handing nothing over', async () => {
    let stalled = false;
    w.cdn.addPkg(p103, servePackage(p103.bytes, { stallAfter: 50_000, onStall: () => (stalled = true) }));
    const f = await make({ http: testHttp({ readTimeoutMs: 300 }) });
    const r = await f.check();
    assert.ok(stalled);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.step, 'download');
    assert.equal(r.code, 'HTTP_TIMEOUT');
    assert.equal(w.helper.received.length, 0);
    assert.deepEqual(await pkgFiles(f), []);
  });

  it('resumes a cut-off download with Range, sending only the missing bytes', async () => {
    w.cdn.addPkg(p103, servePackage(p103.bytes.subarray(0, 120_000), { contentLength: p103.bytes.length }));
    const f = await make();
    assert.equal((await f.check()).step, 'download');
    const have = (await stat(partialPath(f.state.downloads, sha256(p103.bytes)))).size;
    assert.ok(have > 0 && have <= 120_000, `partial kept: ${have} bytes`);

    w.cdn.addPkg(p103);
    w.cdn.srv.requests.length = 0;
    const before = w.cdn.srv.bodyBytes;
    const r = await f.check();
    assert.equal(r.outcome, 'updated');
    assert.deepEqual(r.download, { transferred: p103.bytes.length - have, resumed: true, reused: false });
    assert.equal(requestsTo(w.cdn, p103.path)[0]!.headers['range'], `bytes=${have}-`);
    assert.equal(w.cdn.srv.bodyBytes - before, p103.bytes.length - have);
    assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes));
  });

  it('starts the hash over when the server ignores Range and sends the whole package', async () => {
    w.cdn.addPkg(p103, servePackage(p103.bytes, { ranges: false }));
    const f = await make();
    await writeFile(partialPath(f.state.downloads, sha256(p103.bytes)), p103.bytes.subarray(0, 5000));
    const r = await f.check();
    assert.equal(r.outcome, 'updated');
    assert.deepEqual(r.download, { transferred: p103.bytes.length, resumed: false, reused: false });
    assert.equal(requestsTo(w.cdn, p103.path)[0]!.headers['range'], 'bytes=5000-');
    assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes));
  });

  it('after a 200 that restarted the partial fails before its body, the retry asks for the whole package again', async () => {
    // The server ignores Range once (200, headers only, then the connection drops): the partial was
    // truncated for a fresh start, so the retry must not ask for a range it no longer holds.
    const dropAfterHeaders: Handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(p103.bytes.length) });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 50);
    };
    w.cdn.addPkg(p103, sequence(dropAfterHeaders, servePackage(p103.bytes)));
    const f = await make();
    await writeFile(partialPath(f.state.downloads, sha256(p103.bytes)), p103.bytes.subarray(0, 5000));
    const r = await f.check();
    assert.equal(r.outcome, 'updated', `${r.code ?? ''}: ${r.message ?? ''}`);
    const reqs = requestsTo(w.cdn, p103.path);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.headers['range'], 'bytes=5000-');
    assert.equal(reqs[1]!.headers['range'], undefined);
    assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes));
  });

  it('throws away a corrupt partial once the hash fails, and the next check succeeds from scratch', async () => {
    w.cdn.addPkg(p103);
    const f = await make();
    const partial = partialPath(f.state.downloads, sha256(p103.bytes));
    await writeFile(partial, randomBytes(7000));
    const r1 = await f.check();
    assert.equal(r1.code, 'DOWNLOAD_HASH_MISMATCH');
    assert.equal(w.helper.received.length, 0);
    assert.deepEqual(await readdir(f.state.downloads), []);
    const r2 = await f.check();
    assert.equal(r2.outcome, 'updated');
    assert.equal(requestsTo(w.cdn, p103.path)[1]!.headers['range'], undefined);
    assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes));
  });

  for (const name of ['pkg', 'partial'] as const) {
    it(`re-hashes a full-size .${name} left from before and never hands over a corrupt one`, async () => {
      w.cdn.addPkg(p103);
      const f = await make();
      const file =
        name === 'pkg'
          ? pkgPath(f.state.downloads, sha256(p103.bytes))
          : partialPath(f.state.downloads, sha256(p103.bytes));
      await writeFile(file, randomBytes(p103.bytes.length)); // the right size, other bytes
      const r = await f.check();
      assert.equal(r.outcome, 'updated', r.message);
      assert.equal(w.helper.received.length, 1);
      assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes), 'what was handed over is the released package');
      assert.equal(requestsTo(w.cdn, p103.path).length, 1, 'downloaded again');
    });
  }
});

describe('agent download of a package large enough for the worker thread', () => {
  const p102 = pkg('1.0.2');
  const big = pkg('1.0.3', INLINE_MAX + 1024 * 1024);
  const w = agentWorld([p102]);
  before(() =>
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: [release(big, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] }),
    ),
  );

  it('resumes a cut-off download with Range and hands over the verified package', async () => {
    const cut = 5 * 1024 * 1024;
    w.cdn.addPkg(big, servePackage(big.bytes.subarray(0, cut), { contentLength: big.bytes.length }));
    const f = await w.make();
    assert.equal((await f.check()).step, 'download');
    const have = (await stat(partialPath(f.state.downloads, sha256(big.bytes)))).size;
    assert.ok(have > 0 && have <= cut, `partial kept: ${have} bytes`);

    w.cdn.addPkg(big);
    const r = await f.check();
    assert.equal(r.outcome, 'updated', `${r.code ?? ''}: ${r.message ?? ''}`);
    assert.deepEqual(r.download, { transferred: big.bytes.length - have, resumed: true, reused: false });
    assert.equal(requestsTo(w.cdn, big.path).at(-1)!.headers['range'], `bytes=${have}-`);
    assert.equal(w.helper.received[0]!.sha256, sha256(big.bytes));
  });

  it('starts over when the server ignores Range, leaving nothing of the old partial', async () => {
    w.cdn.addPkg(big, servePackage(big.bytes, { ranges: false }));
    const f = await w.make();
    // A partial of other bytes, longer than a block: a restart that kept its hash would fail.
    await writeFile(partialPath(f.state.downloads, sha256(big.bytes)), randomBytes(3 * 1024 * 1024));
    const r = await f.check();
    assert.equal(r.outcome, 'updated', `${r.code ?? ''}: ${r.message ?? ''}`);
    assert.deepEqual(r.download, { transferred: big.bytes.length, resumed: false, reused: false });
    assert.equal(w.helper.received[0]!.sha256, sha256(big.bytes));
  });
});
