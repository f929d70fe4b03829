import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partialPath } from '../../agent/download.js';
import { servePackage, type Handler } from '../support/https-server.js';
import {
  manifestBytes,
  newSigner,
  pkg,
  release,
  requestsTo,
  sha256,
  startCdn,
  startStandInHelper,
  type Cdn,
  type StandInHelper,
} from './support.js';
import { startAgent, waitFor, writeAgentConfig } from './process.js';
import { INLINE_MAX } from '../../agent/package-file.js';

describe('agent killed mid-download', () => {
  const signer = newSigner();
  const p102 = pkg('1.0.2');
  // Above INLINE_MAX, so the real bin hashes and writes on its worker thread.
  const p103 = pkg('1.0.3', 12 * 1024 * 1024);
  const half = 6 * 1024 * 1024;
  let cdn: Cdn;
  let helper: StandInHelper;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-kill-'));
    cdn = await startCdn();
    cdn.addPkg(p102);
    helper = await startStandInHelper(dir);
    cdn.setManifest(
      manifestBytes(signer, { releases: [release(p103, cdn.srv.origin), release(p102, cdn.srv.origin)] }),
    );
  });
  after(async () => {
    await helper.close();
    await cdn.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('restarts into a clean check: the partial is resumed and verified, nothing corrupt is handed over', async () => {
    assert.ok(p103.bytes.length > INLINE_MAX, 'the package is large enough for the worker thread');
    // The first response sends half of the package and then holds the rest back.
    const events = new EventEmitter();
    const holdBack: Handler = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(p103.bytes.length),
        'accept-ranges': 'bytes',
      });
      res.write(p103.bytes.subarray(0, half), () => events.emit('half-sent'));
    };
    cdn.addPkg(p103, holdBack);
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath);
    const partial = partialPath(join(dir, 'state', 'downloads'), sha256(p103.bytes));

    const first = startAgent(['check', '--once', '--json', '--config', config]);
    await once(events, 'half-sent');
    await waitFor(
      async () => ((await stat(partial).catch(() => null))?.size ?? 0) >= 1024 * 1024,
      'part of the package on disk',
    );
    first.proc.kill('SIGKILL');
    const dead = await first.exited;
    assert.equal(dead.signal, 'SIGKILL');
    const have = (await stat(partial)).size;
    assert.ok(have > 0 && have <= half, `partial: ${have} bytes`);
    assert.equal(helper.received.length, 0);
    assert.deepEqual(
      (await readdir(join(dir, 'state', 'downloads'))).filter((n) => n.endsWith('.pkg')),
      [],
    );

    cdn.addPkg(p103, servePackage(p103.bytes));
    const second = startAgent(['check', '--once', '--json', '--config', config]);
    const done = await second.exited;
    assert.equal(done.code, 0, second.stderr);
    const result = JSON.parse(second.stdout) as {
      outcome: string;
      download: { resumed: boolean; transferred: number };
    };
    assert.equal(result.outcome, 'updated');
    assert.deepEqual(result.download, { transferred: p103.bytes.length - have, resumed: true, reused: false });
    const pkgRequests = requestsTo(cdn, p103.path);
    assert.equal(pkgRequests.length, 2);
    assert.equal(pkgRequests[1]!.headers['range'], `bytes=${have}-`);
    assert.equal(helper.received.length, 1);
    assert.equal(helper.received[0]!.sha256, sha256(p103.bytes), 'the package handed over is the released one');
    assert.match(second.stderr, /SelfUpdate: install complete 1\.0\.2 -> 1\.0\.3/);
  });
});
