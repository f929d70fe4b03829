/**
 * A leaked signing key never freezes updates for good (issue 20, hole 2), as the attacker does
 * it: the old key signs a manifest with sequence 2^53-1 expiring in 2099, or a forged fast-forward
 * within the clock bound; then the documented rotation (a new key signs, the old one is removed
 * from the trusted keys). The agent and the helper refuse the far-future manifest, and once the
 * old key is no longer trusted its mark is dropped and the new key's manifests are accepted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { acceptManifest } from '../../helper/follow.js';
import { silentLogger } from '../../helper/log.js';
import { fileAcceptedStore } from '../../helper/state.js';
import type { ManifestRequest } from '../../helper/protocol.js';
import { HelperError } from '../../helper/protocol.js';

import { agentWorld, manifestBytes, newSigner, pkg, release, T0, type Signer } from './support.js';

const FAR = Number.MAX_SAFE_INTEGER; // 9007199254740991
const NOW = new Date(T0.getTime() + 60_000); // the fixtures' clock
const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

describe('a leaked signing key', () => {
  const leaked = newSigner();
  const fresh = newSigner();
  const both = [...leaked.trusted, ...fresh.trusted];
  const p103 = pkg('1.0.3');
  const w = agentWorld([p103]);
  const offer = () => [release(p103, w.cdn.srv.origin)];
  /** A manifest signed by `s` at the fixtures' clock, with `sequence` when given. */
  const signedBy = (s: Signer, sequence?: number, expires?: string): Buffer =>
    manifestBytes(s, {
      releases: offer(),
      now: NOW,
      edit: (m) => {
        if (sequence !== undefined) m.sequence = sequence;
        if (expires !== undefined) m.expires_at = expires;
      },
    });

  it('cannot freeze the agent with sequence 2^53-1: refused as from the future, the mark stays', async () => {
    const f = await w.make({ current: '1.0.3' });
    w.cdn.setManifest(signedBy(leaked));
    assert.equal((await f.check({ trustedKeys: both })).outcome, 'up-to-date');
    const mark = (await f.state.read()).accepted;
    w.cdn.setManifest(signedBy(leaked, FAR, '2099-01-01T00:00:00Z'));
    const r = await f.check({ trustedKeys: both });
    assert.equal(r.code, 'MANIFEST_FROM_FUTURE', r.message);
    assert.match(r.message ?? '', /more than a day ahead of this device's clock/);
    assert.deepEqual((await f.state.read()).accepted, mark, 'the refused manifest moved no mark');
    w.cdn.setManifest(signedBy(fresh, seconds(NOW) + 10));
    assert.equal((await f.check({ trustedKeys: both })).outcome, 'up-to-date');
  });

  it('a forged fast-forward blocks the new key only while the leaked key is trusted; the rotation drops its mark', async () => {
    const f = await w.make({ current: '1.0.3' });
    // Within the clock bound the forgery cannot be told from a genuine publish: accepted.
    w.cdn.setManifest(signedBy(leaked, seconds(NOW) + 20 * 3600));
    assert.equal((await f.check({ trustedKeys: both })).outcome, 'up-to-date');
    // Rotation, step 1: the new key signs; while the leaked key is still trusted, its mark counts.
    w.cdn.setManifest(signedBy(fresh, seconds(NOW) + 30));
    assert.equal((await f.check({ trustedKeys: both })).code, 'MANIFEST_ROLLBACK');
    // Step 2: the leaked key is removed from the trusted keys: its mark is dropped.
    const r = await f.check({ trustedKeys: fresh.trusted });
    assert.equal(r.outcome, 'up-to-date', r.message);
    const marks = (await f.state.read()).accepted ?? {};
    assert.deepEqual(Object.keys(marks), [fresh.trusted[0]!.keyid]);
    assert.equal(marks[fresh.trusted[0]!.keyid]?.sequence, seconds(NOW) + 30);
    // Rollback protection goes on under the new key.
    w.cdn.setManifest(signedBy(fresh, seconds(NOW) + 5));
    assert.equal((await f.check({ trustedKeys: fresh.trusted })).code, 'MANIFEST_ROLLBACK');
  });

  it('frees an agent frozen before the fix: a stored mark beyond the clock is dropped', async () => {
    const f = await w.make({ current: '1.0.3' });
    await f.state.write({ accepted: null, manifest_etag: null, cooldowns: {} });
    writeFileSync(
      join(f.state.dir, 'state.json'),
      JSON.stringify({ accepted: { sequence: FAR, digest: 'f'.repeat(64) }, manifest_etag: null, cooldowns: {} }),
    );
    w.cdn.setManifest(signedBy(fresh, seconds(NOW)));
    const r = await f.check({ trustedKeys: fresh.trusted });
    assert.equal(r.outcome, 'up-to-date', r.message);
  });

  describe('the helper', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-key-freeze-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const accepted = fileAcceptedStore(dir, 'stable');
    const follow = (raw: Buffer, trustedKeys = both) =>
      acceptManifest({ v: 1, id: 'm', type: 'manifest', manifest: raw.toString() } satisfies ManifestRequest, {
        settings: { trustedKeys, channel: 'stable' },
        now: () => NOW,
        accepted,
        log: silentLogger,
      });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: unknown) => (e instanceof HelperError ? e.code : String(e)),
      );

    it('refuses 2^53-1, and after the rotation accepts the new key over a forged fast-forward', async () => {
      assert.equal(await code(follow(signedBy(leaked, FAR, '2099-01-01T00:00:00Z'))), 'MANIFEST_FROM_FUTURE');
      assert.equal(await code(follow(signedBy(leaked, seconds(NOW) + 20 * 3600))), 'accepted');
      assert.equal(await code(follow(signedBy(fresh, seconds(NOW) + 30))), 'MANIFEST_ROLLBACK');
      assert.equal(await code(follow(signedBy(fresh, seconds(NOW) + 30), fresh.trusted)), 'accepted');
      assert.equal(await code(follow(signedBy(fresh, seconds(NOW) + 5), fresh.trusted)), 'MANIFEST_ROLLBACK');
    });
  });
});
