import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyFromBase64 } from '../../../schema/keys.js';
import { verifyManifest } from '../../../schema/manifest.js';
import { MANIFEST_DEFAULTS, type Policy } from '../../../schema/types.js';
import { compareChannel } from '../../../pipeline/manifests/compare.js';
import { publishManifests } from '../../../pipeline/manifests/publish.js';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import { manifestDrift } from '../../../pipeline/drift/check.js';
import { newKey, release, signedManifestText } from '../../support/manifests.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const HOUR = 3600_000;

describe('compareChannel against a target', () => {
  const key = newKey();
  const trusted = [publicKeyFromBase64(key.public_key)];
  const policy: Policy = {
    allowed_url_prefixes: ['https://cdn.mngd.app/agent/'],
    channels: ['stable', 'beta'],
    trusted_keys: [{ keyid: key.keyid, public_key: key.public_key }],
    manifest: MANIFEST_DEFAULTS,
  };
  const releases = [release('1.0.2'), release('1.1.0', { channel: 'beta', rollout_percent: 50 })];
  let dir: string;
  let store: DirectoryStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-compare-'));
    store = new DirectoryStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Mix-and-match at the source: the beta manifest, validly signed by a trusted key, copied over
  // stable's latest.json. Agents refuse it (MANIFEST_CHANNEL), so publish must rewrite it and drift
  // must call it invalid, not merely "different".
  it("treats another channel's manifest at this channel's key as not usable", async () => {
    const beta = signedManifestText({ releases, keys: [key], channel: 'beta', now: T0 });
    await store.put('latest.json', Buffer.from(beta), { contentType: 'application/json', cacheControl: 'no-cache' });
    const now = new Date(T0.getTime() + HOUR);
    const c = await compareChannel(store, 'stable', { releases, policy, now, trusted });
    assert.match(c.published.problem ?? '', /is for channel "beta", expected "stable"/);
    assert.equal(c.decision.action, 'updated');
    assert.match(c.decision.reason, /^the published manifest is for channel "beta"/);
    assert.deepEqual(c.decision.changes, []);
    assert.equal(c.expiry, null);
    const findings = manifestDrift(c.published, c.expected, policy, now);
    assert.deepEqual(
      findings.map((f) => f.code),
      ['MANIFEST_INVALID'],
    );
    // publish writes stable's own manifest over it
    const [stable] = await publishManifests({ releases, policy, keys: [key], store, now });
    assert.equal(stable?.action, 'updated');
    const latest = (await store.get('latest.json'))?.body ?? Buffer.alloc(0);
    assert.equal(verifyManifest(latest, { trustedKeys: trusted, channel: 'stable', now }).signed.channel, 'stable');
  });
});
