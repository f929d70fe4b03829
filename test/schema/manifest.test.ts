import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, verifyManifest, type ManifestErrorCode } from '../../schema/manifest.js';
import { newKey, release, signedManifestText } from '../support/manifests.js';

const key = newKey();
const other = newKey();
const now = new Date('2026-11-27T02:00:00Z');
const text = signedManifestText({
  releases: [release('1.0.2'), release('1.0.3', { rollout_percent: 10 })],
  keys: [key],
  now,
});

function rejects(
  raw: string | Buffer,
  code: ManifestErrorCode,
  opts: Partial<Parameters<typeof verifyManifest>[1]> = {},
) {
  assert.throws(
    () => verifyManifest(raw, { trustedKeys: [key], channel: 'stable', now, ...opts }),
    (err: unknown) => err instanceof ManifestError && err.code === code,
  );
}

describe('verifyManifest', () => {
  it('accepts a manifest signed by a trusted key and reports what it accepted', () => {
    const v = verifyManifest(text, { trustedKeys: [other, key], channel: 'stable', now });
    assert.deepEqual(v.signers, [key.keyid]);
    assert.deepEqual(
      v.signed.releases.map((r) => r.version),
      ['1.0.3', '1.0.2'],
    );
    assert.equal(v.accepted.sequence, Math.floor(now.getTime() / 1000));
  });

  it('refuses a forged manifest: no signature from a trusted key', () => {
    rejects(text, 'MANIFEST_SIGNATURE', { trustedKeys: [other] });
  });

  it('refuses a manifest whose signed part was changed after signing', () => {
    rejects(text.replace('"rollout_percent": 10', '"rollout_percent": 100'), 'MANIFEST_SIGNATURE');
  });

  it('refuses a manifest with no signatures', () => {
    const m = JSON.parse(text) as { signatures: unknown[] };
    m.signatures = [];
    rejects(JSON.stringify(m), 'MANIFEST_SCHEMA');
  });

  it("refuses another channel's manifest (mix-and-match)", () => {
    rejects(
      signedManifestText({ releases: [release('1.0.2')], keys: [key], now, channel: 'beta' }),
      'MANIFEST_CHANNEL',
    );
  });

  it('refuses an expired manifest (freeze)', () => {
    rejects(text, 'MANIFEST_EXPIRED', { now: new Date(now.getTime() + 15 * 86400_000) });
  });

  it('refuses a lower sequence than already accepted (rollback)', () => {
    const v = verifyManifest(text, { trustedKeys: [key], channel: 'stable', now });
    rejects(text, 'MANIFEST_ROLLBACK', { previous: { sequence: v.accepted.sequence + 1, digest: v.accepted.digest } });
  });

  it('accepts the same sequence only with the same content', () => {
    const v = verifyManifest(text, { trustedKeys: [key], channel: 'stable', now });
    verifyManifest(text, { trustedKeys: [key], channel: 'stable', now, previous: v.accepted });
    const same = signedManifestText({ releases: [release('1.0.2')], keys: [key], now });
    rejects(same, 'MANIFEST_SEQUENCE_REUSED', { previous: v.accepted });
  });

  it('refuses an oversized manifest before parsing it (endless data)', () => {
    rejects(Buffer.alloc(1024 * 1024 + 1, 0x20), 'MANIFEST_TOO_LARGE');
  });

  it('refuses malformed JSON and invalid UTF-8', () => {
    rejects('{"signed":', 'MANIFEST_MALFORMED');
    // Valid JSON once decoded leniently ({"a":"\ufffd"}), but not valid UTF-8: refused for the bytes.
    const invalidUtf8 = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    assert.doesNotThrow(() => JSON.parse(invalidUtf8.toString('utf8')), 'the JSON itself is well-formed');
    rejects(invalidUtf8, 'MANIFEST_MALFORMED');
  });

  it('refuses unknown fields in the signed part', () => {
    const m = JSON.parse(text) as { signed: Record<string, unknown> };
    m.signed['extra'] = 1;
    rejects(JSON.stringify(m), 'MANIFEST_SCHEMA');
  });
});
