/**
 * One channel's spec-2 manifest, published against expected (compare.ts is spec 1's): read what
 * the target holds under v2/, build what git implies, judge with the same code as spec 1 (compareWith)
 * and spec 2's content rules.
 */
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { Release, SignedManifest2 } from '../../schema/types.js';
import { buildSignedManifest2, manifest2Content, type Build2Policy, type Provenance } from './build2.js';
import { compareWith, type CompareOptions, type Judgement, type SpecRules } from './compare.js';
import { diffManifests2, immutableChanges2 } from './diff2.js';
import { readPublished2, type Published2 } from './read2.js';
import type { ObjectStore } from './store/object-store.js';

export interface Compare2Input extends CompareOptions {
  releases: readonly Release[];
  policy: Build2Policy;
  trusted: readonly PublicKeyInfo[];
  provenance: Provenance;
}

export interface ChannelComparison2 extends Judgement {
  published: Published2;
  expected: SignedManifest2;
}

const SPEC2_RULES: SpecRules<SignedManifest2> = {
  content: manifest2Content,
  diff: diffManifests2,
  immutable: immutableChanges2,
};

export async function compareChannel2(
  store: ObjectStore,
  channel: string,
  input: Compare2Input,
): Promise<ChannelComparison2> {
  const published = await readPublished2(store, channel, input.trusted, {
    acceptableUntil: input.acceptableUntil ?? null,
  });
  const { releases, policy, now, provenance } = input;
  return compareWith(
    SPEC2_RULES,
    published,
    (previousSequence) => buildSignedManifest2({ channel, releases, policy, now, previousSequence, provenance }),
    input,
  );
}
