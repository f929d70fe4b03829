/**
 * One channel's spec-2 manifest, published against expected (compare.ts is spec 1's): read what
 * the target holds under v2/, build what git implies, judge with the same rules as spec 1.
 */
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { Release, SignedManifest2 } from '../../schema/types.js';
import { buildSignedManifest2, manifest2Content, type Build2Policy, type Provenance } from './build2.js';
import { decideSigned, expiryOf, type Judgement } from './compare.js';
import { diffManifests2, immutableChanges2 } from './diff2.js';
import { readPublished2, type Published2 } from './read2.js';
import type { ObjectStore } from './store/object-store.js';

export interface Compare2Input {
  releases: readonly Release[];
  policy: Build2Policy;
  now: Date;
  trusted: readonly PublicKeyInfo[];
  provenance: Provenance;
  keyIds?: readonly string[] | null;
  refresh?: boolean;
}

export interface ChannelComparison2 extends Judgement {
  published: Published2;
  expected: SignedManifest2;
}

const SPEC2_RULES = { content: manifest2Content, diff: diffManifests2 };

export function judgeChannel2(
  published: Pick<Published2, 'object' | 'manifest' | 'problem'>,
  expected: SignedManifest2,
  opts: { now: Date; refreshWindowDays: number; refresh: boolean; keyIds: readonly string[] | null },
): Judgement {
  const current = published.problem === null ? published.manifest : null;
  return {
    decision: decideSigned(published, expected, opts.keyIds, opts.now, opts, SPEC2_RULES),
    immutable: current === null ? [] : immutableChanges2(expected, current.signed),
    expiry: current === null ? null : expiryOf(current.signed.expires_at, opts.now, opts.refreshWindowDays),
  };
}

export async function compareChannel2(
  store: ObjectStore,
  channel: string,
  input: Compare2Input,
): Promise<ChannelComparison2> {
  const published = await readPublished2(store, channel, input.trusted);
  const expected = buildSignedManifest2({
    channel,
    releases: input.releases,
    policy: input.policy,
    now: input.now,
    previousSequence: published.previousSequence,
    provenance: input.provenance,
  });
  const judgement = judgeChannel2(published, expected, {
    now: input.now,
    refreshWindowDays: input.policy.manifest.refresh_window_days,
    refresh: input.refresh === true,
    keyIds: input.keyIds ?? null,
  });
  return { published, expected, ...judgement };
}
