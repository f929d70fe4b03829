/**
 * Reads every channel's live manifests, both specs, and classifies what publishing git's would do
 * to their offer. A change is a safety change only when it offers less to spec-1 and spec-2 readers
 * alike: a release that spec 1 never lists (arm64 only) can still offer spec-2 readers more.
 */
import { canonicalize } from '../../schema/canonical.js';
import { shareAt } from '../../schema/rollout.js';
import type { ManifestRelease, Policy, Release, SignedManifest, SignedManifest2 } from '../../schema/types.js';
import { buildSignedManifest } from './build.js';
import { buildSignedManifest2 } from './build2.js';
import { classifyOfferChange, type OfferChange } from './offer-change.js';
import { NO_COMMIT } from './provenance.js';
import { readPublished, trustedKeysOf } from './read.js';
import { readPublished2 } from './read2.js';
import type { ObjectStore } from './store/object-store.js';

/**
 * A spec-2 manifest as the offer rules read it: each release's share at publish time, and its
 * packages and macOS range as one "package" (any change to them points at another package).
 * rescue_from is not an offer of its own: it only lets Macs on a stopped build take a release
 * already offered, which is what a yank or halt is for.
 */
export function offerView(signed: SignedManifest2): SignedManifest {
  const t = Date.parse(signed.published_at);
  return {
    type: signed.type,
    spec: 1,
    channel: `${signed.channel} (spec 2)`,
    sequence: signed.sequence,
    published_at: signed.published_at,
    expires_at: signed.expires_at,
    min_required_version: signed.min_required_version,
    releases: signed.releases.map((r): ManifestRelease => ({
      version: r.version,
      download_url: canonicalize({ artifacts: r.artifacts, requires: r.requires, rings: r.rings ?? [] }),
      sha256: '',
      size: 1,
      rollout_percent: shareAt(r.rollout, t),
    })),
  };
}

export async function readOfferChanges(
  store: ObjectStore,
  releases: readonly Release[],
  policy: Policy,
  now: Date,
): Promise<OfferChange[]> {
  const trusted = trustedKeysOf(policy);
  const out: OfferChange[] = [];
  for (const channel of policy.channels) {
    const published = await readPublished(store, channel, trusted);
    const next = buildSignedManifest({ channel, releases, policy, now, previousSequence: published.previousSequence });
    const usable = published.manifest !== null && published.problem === null ? published.manifest.signed : null;
    out.push(classifyOfferChange(usable, next));
    const published2 = await readPublished2(store, channel, trusted);
    const next2 = buildSignedManifest2({
      channel,
      releases,
      policy,
      now,
      previousSequence: published2.previousSequence,
      provenance: { commit: NO_COMMIT, workflow_run: null, actor: null },
    });
    const usable2 = published2.manifest !== null && published2.problem === null ? published2.manifest.signed : null;
    out.push(classifyOfferChange(usable2 === null ? null : offerView(usable2), offerView(next2)));
  }
  return out;
}
