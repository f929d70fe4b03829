/** Reads every channel's live manifest and classifies what publishing git's would do to its offer. */
import type { Policy, Release } from '../../schema/types.js';
import { buildSignedManifest } from './build.js';
import { classifyOfferChange, type OfferChange } from './offer-change.js';
import { readPublished, trustedKeysOf } from './read.js';
import type { ObjectStore } from './store/object-store.js';

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
  }
  return out;
}
