import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MANIFEST_BYTES } from '../../schema/manifest.schema.js';
import { agentWorld, manifestBytes, newSigner, pkg, release, requestsTo, T0, warnings } from './support.js';

describe('agent check with a bad manifest', () => {
  const other = newSigner();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const w = agentWorld([p102, p103]);
  // Each bad manifest would, if trusted, force an update and block checkin (floor 1.0.3 > 1.0.1).
  const offer = () => [
    release(p103, w.cdn.srv.origin, { min_required_version: '1.0.3' }),
    release(p102, w.cdn.srv.origin),
  ];

  const cases: { name: string; bytes: () => Buffer; step: string; code: string }[] = [
    {
      name: 'expired',
      bytes: () => manifestBytes(w.signer, { releases: offer(), now: new Date(T0.getTime() - 15 * 86_400_000) }),
      step: 'verify-manifest',
      code: 'MANIFEST_EXPIRED',
    },
    {
      name: 'unsigned',
      bytes: () => {
        const m = JSON.parse(manifestBytes(w.signer, { releases: offer() }).toString()) as { signatures: unknown[] };
        m.signatures = [];
        return Buffer.from(JSON.stringify(m));
      },
      step: 'verify-manifest',
      code: 'MANIFEST_SCHEMA',
    },
    {
      name: 'signed by an untrusted key',
      bytes: () => manifestBytes(w.signer, { releases: offer(), keys: [other.key] }),
      step: 'verify-manifest',
      code: 'MANIFEST_SIGNATURE',
    },
    {
      name: 'altered after signing (a swapped package hash)',
      bytes: () => {
        const m = JSON.parse(manifestBytes(w.signer, { releases: offer() }).toString()) as {
          signed: { releases: { sha256: string }[] };
        };
        m.signed.releases[0]!.sha256 = 'f'.repeat(64);
        return Buffer.from(JSON.stringify(m));
      },
      step: 'verify-manifest',
      code: 'MANIFEST_SIGNATURE',
    },
    {
      name: 'for another channel',
      bytes: () => manifestBytes(w.signer, { releases: offer(), channel: 'beta' }),
      step: 'verify-manifest',
      code: 'MANIFEST_CHANNEL',
    },
    {
      name: 'oversized (endless data)',
      bytes: () => {
        const m = manifestBytes(w.signer, { releases: offer() });
        return Buffer.concat([m.subarray(0, m.length - 1), Buffer.alloc(MAX_MANIFEST_BYTES, 0x20), Buffer.from('}')]);
      },
      step: 'fetch-manifest',
      code: 'HTTP_TOO_LARGE',
    },
    {
      name: 'malformed',
      bytes: () => Buffer.from('{"signed": {"type": "mngd-agent-manifest",'),
      step: 'verify-manifest',
      code: 'MANIFEST_MALFORMED',
    },
  ];

  for (const c of cases) {
    it(`refuses a manifest ${c.name}: no update, checkin not blocked, one warning naming step and error`, async () => {
      w.cdn.setManifest(c.bytes());
      const f = await w.make({ current: '1.0.1' });
      const r = await f.check();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.step, c.step);
      assert.equal(r.code, c.code, r.message);
      assert.equal(r.blocked, false, 'an unverifiable manifest never blocks checkin');
      assert.equal(r.target, null);
      assert.equal(requestsTo(w.cdn, p103.path).length, 0, 'no package download');
      assert.equal(w.helper.received.length, 0, 'nothing handed to the helper');
      const warns = warnings(f.log);
      assert.equal(warns.length, 1, warns.join('\n'));
      assert.ok(
        warns[0]!.startsWith(`SelfUpdate: ${c.step} failed: current 1.0.1, manifest ${w.cdn.manifestUrl}`),
        warns[0],
      );
      assert.ok(warns[0]!.includes(`[${c.code}]`) && warns[0]!.includes('checkin not blocked'), warns[0]);
      const st = await f.state.read();
      assert.equal(st.accepted, null, 'nothing remembered from a manifest that did not verify');
      assert.equal(await f.state.readCachedManifest(), null);
    });
  }

  it('refuses a lower sequence (rollback) and remembers a sequence only after it verified', async () => {
    const f = await w.make({ current: '1.0.3' });
    const current = manifestBytes(w.signer, { releases: offer(), now: new Date(T0.getTime() + 3600_000) });
    w.cdn.setManifest(current);
    assert.equal((await f.check()).outcome, 'up-to-date');
    const accepted = (await f.state.read()).accepted;
    assert.ok(accepted);

    // A forged manifest with a far higher sequence must not move the mark...
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: offer(), now: new Date(T0.getTime() + 7200_000), keys: [other.key] }),
    );
    assert.equal((await f.check()).code, 'MANIFEST_SIGNATURE');
    assert.deepEqual((await f.state.read()).accepted, accepted);
    // ...so the genuine current manifest is still accepted afterwards.
    w.cdn.setManifest(current);
    assert.equal((await f.check()).outcome, 'up-to-date');

    // Rollback: an older, validly signed manifest (say, from before a yank) is refused.
    w.cdn.setManifest(manifestBytes(w.signer, { releases: offer() }));
    const r = await f.check();
    assert.equal(r.outcome, 'failed');
    assert.equal(r.code, 'MANIFEST_ROLLBACK');
    assert.equal(r.blocked, false);
    assert.deepEqual((await f.state.read()).accepted, accepted);
    assert.equal(warnings(f.log).length, 2);
  });

  it('moves the rollback mark up with each newer manifest: accept A, then B, then a replay of A is refused', async () => {
    const f = await w.make({ current: '1.0.3' });
    const a = manifestBytes(w.signer, { releases: offer(), now: new Date(T0.getTime() + 1000) });
    const b = manifestBytes(w.signer, { releases: offer(), now: new Date(T0.getTime() + 2000) });
    w.cdn.setManifest(a);
    assert.equal((await f.check()).outcome, 'up-to-date');
    w.cdn.setManifest(b);
    assert.equal((await f.check()).outcome, 'up-to-date');
    w.cdn.setManifest(a);
    const r = await f.check();
    assert.equal(r.code, 'MANIFEST_ROLLBACK', r.message);
  });

  it('refuses the same sequence with other content', async () => {
    const f = await w.make({ current: '1.0.3' });
    w.cdn.setManifest(manifestBytes(w.signer, { releases: offer() }));
    assert.equal((await f.check()).outcome, 'up-to-date');
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p102, w.cdn.srv.origin)] }));
    const r = await f.check();
    assert.equal(r.code, 'MANIFEST_SEQUENCE_REUSED');
    assert.equal(r.blocked, false);
  });
});
