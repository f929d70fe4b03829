/**
 * Slow retrieval (issue 20, hole 3), as a hostile CDN does it: a loopback server dripping the
 * manifest or the package a few bytes at a time, each drip just inside the read time-out, so no
 * time-out between bytes ever fires. The manifest's total deadline and the package's minimum
 * average rate end the check (HTTP_DEADLINE, not counted toward the cool-down), the partial is
 * kept for resuming, and the run loop's check limit lets the checkin go on past a hung check.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { partialPath } from '../../agent/download.js';
import { MemoryLogger } from '../../agent/log.js';
import { runLoop } from '../../agent/run-loop.js';
import type { CheckResult } from '../../agent/check.js';
import type { Handler } from '../support/https-server.js';
import { agentWorld, manifestBytes, pkg, release, sha256, testHttp } from './support.js';

/** Sends `body` `step` bytes every `everyMs`, for as long as the client listens. */
function drip(body: Buffer, step: number, everyMs: number, sent: { bytes: number }): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    let at = 0;
    const timer = setInterval(() => {
      if (at >= body.length) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(body.subarray(at, at + step));
      at += step;
      sent.bytes = at;
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

const FAST = { manifestMs: 1500, packageMinBytesPerSecond: 256 * 1024, packageGraceMs: 500 };

describe('slow retrieval', () => {
  const p103 = pkg('1.0.3', 200_000);
  const w = agentWorld([p103]);

  it('a manifest dripped a byte at a time ends at its total deadline, not after minutes', async () => {
    const body = manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin)] });
    const sent = { bytes: 0 };
    w.cdn.table['/latest.json'] = drip(body, 1, 50, sent); // ~1 byte per 50 ms: ~30 s for the whole
    const f = await w.make({ current: '1.0.2' });
    const r = await f.check({ deadlines: FAST, http: testHttp({ readTimeoutMs: 1000 }) });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.step, 'fetch-manifest');
    assert.equal(r.code, 'HTTP_DEADLINE', r.message);
    assert.match(r.message ?? '', /not complete within 1\.5 s/);
    assert.ok(sent.bytes < body.length, `stopped before the server sent it all (${sent.bytes}/${body.length})`);
    assert.equal(w.helper.received.length, 0);
  });

  it('a package dripped below the minimum average rate ends at its deadline; the partial is kept, no cool-down', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin)] }));
    const sent = { bytes: 0 };
    w.cdn.table[p103.path] = drip(p103.bytes, 100, 20, sent); // ~5 KB/s, far below 256 KiB/s
    const f = await w.make({ current: '1.0.2' });
    const r = await f.check({ deadlines: FAST, http: testHttp({ readTimeoutMs: 1000 }) });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.step, 'download');
    assert.equal(r.code, 'HTTP_DEADLINE', r.message);
    assert.ok(sent.bytes < p103.bytes.length, 'stopped before the whole package arrived');
    const kept = await stat(partialPath(f.state.downloads, sha256(p103.bytes)));
    assert.ok(kept.size > 0, 'what arrived is kept, to resume at the next check');
    assert.equal((await f.state.read()).cooldowns[sha256(p103.bytes)]?.failures ?? 0, 0, 'not the package: no count');
    assert.equal(w.helper.received.length, 0, 'nothing handed over');
  });
});

describe('the run loop and a hung check', () => {
  it('checks in after the check limit, never starts the check twice, and takes a late update', async () => {
    let started = 0;
    let finish: (r: CheckResult) => void = () => undefined;
    const checkins: number[] = [];
    const stop = new AbortController();
    let sleeps = 0;
    const log = new MemoryLogger();
    const end = await runLoop({
      check: () => {
        started++;
        return new Promise<CheckResult>((resolve) => (finish = resolve));
      },
      checkin: async () => {
        checkins.push(started);
        // The hung check ends while the loop sleeps after its second checkin.
        if (checkins.length === 2)
          finish({ outcome: 'updated', current: '1.0.2', target: '1.0.3' } as unknown as CheckResult);
      },
      timing: { intervalMs: 10, firstDelayMaxMs: 0, floorRetryMs: 10, checkLimitMs: 30 },
      log,
      signal: stop.signal,
      sleep: async () => {
        if (++sleeps > 10) stop.abort();
      },
    });
    assert.deepEqual(checkins, [1, 1], 'checked in twice while the one check hung; it was not started again');
    assert.equal(end, 'updated', 'the hung check ended with an install: the loop exits for relaunch');
    assert.equal(started, 1);
    const warns = log.of('WARN').filter((l) => l.includes('checkin not blocked, the check goes on'));
    assert.equal(warns.length, 2, warns.join('\n'));
  });
});
