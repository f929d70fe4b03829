/** Building and signing manifests for tests, with the real builder and signer. */
import { generateSigningKey, signingKeyFromText, type SigningKey } from '../../schema/keys.js';
import { signEnvelope } from '../../schema/signing.js';
import { withReleaseDefaults, type Release, type ReleaseFile, MANIFEST_DEFAULTS } from '../../schema/types.js';
import { buildSignedManifest } from '../../pipeline/manifests/build.js';

export function newKey(): SigningKey {
  return signingKeyFromText(generateSigningKey().privateKeyText);
}

/** A release as loaded at `now` (a schedule's share then; the clock by default). */
export function release(version: string, extra: Partial<ReleaseFile> = {}, now = Date.now()): Release {
  return withReleaseDefaults(
    {
      version,
      download_url: `https://cdn.mngd.app/agent/mngd-agent-${version}.pkg`,
      sha256: Buffer.from(version.padEnd(32, '-')).toString('hex').slice(0, 64),
      size: 1000,
      ...extra,
    },
    now,
  );
}

export function signedManifestText(opts: {
  releases: Release[];
  keys: SigningKey[];
  channel?: string;
  now?: Date;
  previousSequence?: number | null;
  lifetimeDays?: number;
}): string {
  const signed = buildSignedManifest({
    channel: opts.channel ?? 'stable',
    releases: opts.releases,
    policy: { manifest: { ...MANIFEST_DEFAULTS, lifetime_days: opts.lifetimeDays ?? 14 } },
    now: opts.now ?? new Date(),
    previousSequence: opts.previousSequence ?? null,
  });
  return `${JSON.stringify(signEnvelope(signed, opts.keys), null, 2)}\n`;
}
