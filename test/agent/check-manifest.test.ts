import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_MANIFEST_BYTES } from '../../schema/manifest.schema.js';
import {
  fixture,
  manifestBytes,
  newSigner,
  pkg,
  release,
  requestsTo,
  startCdn,
  startStandInHelper,
  T0,
  warnings,
  type Cdn,
  type Fixture,
  type StandInHelper,
} from './support.js';

describe('agent check with a bad manifest', () => {
  const signer = newSigner();
  const other = newSigner();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  let cdn: Cdn;
  let helper: StandInHelper;
  let dir: string;
  const fixtures: Fixture[] = [];
  // Each bad manifest would, if trusted, force an update and block checkin (floor 1.0.3 > 1.0.1).
  const offer = () => [release(p103, cdn.srv.origin, { min_required_version: '1.0.3' }), release(p102, cdn.srv.origin)];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-check-manifest-'));
    cdn = await startCdn();
    cdn.addPkg(p102);
    cdn.addPkg(p103);
    helper = await startStandInHelper(dir);
  });
  after(async () => {
    await helper.close();
    await cdn.close();
    await Promise.all(fixtures.map((f) => f.cleanup()));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    helper.received.length = 0;
    cdn.srv.requests.length = 0;
  });

  const cases: { name: string; bytes: () => Buffer; step: string; code: string }[] = [
    { name: 'expired', bytes: () => manifestBytes(signer, { releases: offer(), now: new Date(T0.getTime() - 15 * 86_400_000) }), step: 'verify-manifest', code: 'MANIFEST_EXPIRED' },
    {
      name: 'unsigned',
      bytes: () => {
        const m = JSON.parse(manifestBytes(signer, { releases: offer() }).toString()) as { signatures: unknown[] };
        m.signatures = [];
        return Buffer.from(JSON.stringify(m));
      },
      step: 'verify-manifest',
      code: 'MANIFEST_SCHEMA',
    },
    { name: 'signed by an untrusted key', bytes: () => manifestBytes(signer, { releases: offer(), keys: [other.key] }), step: 'verify-manifest', code: 'MANIFEST_SIGNATURE' },
    {
      name: 'altered after signing (a swapped package hash)',
      bytes: () => {
        const m = JSON.parse(manifestBytes(signer, { releases: offer() }).toString()) as { signed: { releases: { sha256: string }[] } };
        m.signed.releases[0]!.sha256 = 'f'.repeat(64);
        return Buffer.from(JSON.stringify(m));
      },
      step: 'verify-manifest',
      code: 'MANIFEST_SIGNATURE',
    },
    { name: 'for another channel', bytes: () => manifestBytes(signer, { releases: offer(), channel: 'beta' }), step: 'verify-manifest', code: 'MANIFEST_CHANNEL' },
    {
      name: 'oversized (endless data)',
      bytes: () => {
        const m = manifestBytes(signer, { releases: offer() });
        return Buffer.concat([m.subarray(0, m.length - 1), Buffer.alloc(MAX_MANIFEST_BYTES, 0x20), Buffer.from('}')]);
      },
      step: 'fetch-manifest',
      code: 'HTTP_TOO_LARGE',
    },
    { name: 'malformed', bytes: () => Buffer.from('{"signed": {"type": "mngd-agent-manifest",'), step: 'verify-manifest', code: 'MANIFEST_MALFORMED' },
  ];

  for (const c of cases) {
    it(`refuses a manifest ${c.name}: no update, checkin not blocked, one warning naming step and error`, async () => {
      cdn.setManifest(c.bytes());
      const f = await fixture({ cdn, signer, helperSocket: helper.socketPath, current: '1.0.1' });
      fixtures.push(f);
      const r = await f.check();
      assert.equal(r.outcome, 'failed');
      assert.equal(r.step, c.step);
      assert.equal(r.code, c.code, r.message);
      assert.equal(r.blocked, false, 'an unverifiable manifest never blocks checkin');
      assert.equal(r.target, null);
      assert.equal(requestsTo(cdn, p103.path).length, 0, 'no package download');
      assert.equal(helper.received.length, 0, 'nothing handed to the helper');
      const w = warnings(f.log);
      assert.equal(w.length, 1, w.join('\n'));
      assert.ok(w[0]!.startsWith(`SelfUpdate: ${c.step} failed: current 1.0.1, manifest ${cdn.manifestUrl}`), w[0]);
      assert.ok(w[0]!.includes(`[${c.code}]`) && w[0]!.includes('checkin not blocked'), w[0]);
      const st = await f.state.read();
      assert.equal(st.accepted, null, 'nothing remembered from a manifest that did not verify');
      assert.equal(await f.state.readCachedManifest(), null);
    });
  }

  it('refuses a lower sequence (rollback) and remembers a sequence only after it verified', async () => {
    const f = await fixture({ cdn, signer, helperSocket: helper.socketPath, current: '1.0.3' });
    fixtures.push(f);
    const current = manifestBytes(signer, { releases: offer(), now: new Date(T0.getTime() + 3600_000) });
    cdn.setManifest(current);
    assert.equal((await f.check()).outcome, 'up-to-date');
    const accepted = (await f.state.read()).accepted;
    assert.ok(accepted);

    // A forged manifest with a far higher sequence must not move the mark...
    cdn.setManifest(manifestBytes(signer, { releases: offer(), now: new Date(T0.getTime() + 7200_000), keys: [other.key] }));
    assert.equal((await f.check()).code, 'MANIFEST_SIGNATURE');
    assert.deepEqual((await f.state.read()).accepted, accepted);
    // ...so the genuine current manifest is still accepted afterwards.
    cdn.setManifest(current);
    assert.equal((await f.check()).outcome, 'up-to-date');

    // Rollback: an older, validly signed manifest (say, from before a yank) is refused.
    cdn.setManifest(manifestBytes(signer, { releases: offer() }));
    const r = await f.check();
    assert.equal(r.outcome, 'failed');
    assert.equal(r.code, 'MANIFEST_ROLLBACK');
    assert.equal(r.blocked, false);
    assert.deepEqual((await f.state.read()).accepted, accepted);
    assert.equal(warnings(f.log).length, 2);
  });

  it('refuses the same sequence with other content', async () => {
    const f = await fixture({ cdn, signer, helperSocket: helper.socketPath, current: '1.0.3' });
    fixtures.push(f);
    cdn.setManifest(manifestBytes(signer, { releases: offer() }));
    assert.equal((await f.check()).outcome, 'up-to-date');
    cdn.setManifest(manifestBytes(signer, { releases: [release(p102, cdn.srv.origin)] }));
    const r = await f.check();
    assert.equal(r.code, 'MANIFEST_SEQUENCE_REUSED');
    assert.equal(r.blocked, false);
  });
});
