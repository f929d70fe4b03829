/**
 * A live halt git does not have yet: the break-glass workflow (release-halt.yml) publishes a
 * halt at once and opens the pull request that records it; until that is merged, the live
 * manifest offers less than git. Told apart from a release whose publish has not run yet by the
 * history copies: an earlier manifest of the channel listed the version, the live one does not.
 */
import type { SignedManifest } from '../../schema/types.js';
import { inspectManifest, historyKey, historyPrefix, type Published } from '../manifests/index.js';
import type { ObjectStore } from '../manifests/index.js';
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { DriftFinding } from './finding.js';

/** How many earlier manifests of a channel drift reads, at most, to tell a live halt from a release not yet published. */
export const HISTORY_LOOKBACK = 20;

/**
 * Versions git offers that the live manifest does not although an earlier manifest of the channel
 * listed them (`listedBefore`: version -> the sequence that listed it). Pure.
 */
export function liveHaltDrift(
  subject: string,
  expected: SignedManifest,
  live: SignedManifest,
  listedBefore: ReadonlyMap<string, number>,
): DriftFinding[] {
  const liveVersions = new Set(live.releases.map((r) => r.version));
  return expected.releases.flatMap((r) => {
    const seq = listedBefore.get(r.version);
    if (liveVersions.has(r.version) || seq === undefined) return [];
    return [
      {
        severity: 'error' as const,
        code: 'MANIFEST_LIVE_HALT' as const,
        subject,
        message: `${r.version} is halted live but not in git: git offers it, the live manifest (sequence ${live.sequence}, published ${live.published_at}) does not, and an earlier one (sequence ${seq}) did`,
        details: [
          `a halt published by the release-halt workflow: merge its pull request (branch halt-${r.version}) before anything publishes main, which would offer ${r.version} again (release-publish and release-refresh refuse while it is open)`,
          `no such pull request (e.g. a publish from an old checkout): "mngd-release publish" from main offers ${r.version} again, as git says`,
        ],
      },
    ];
  });
}

/**
 * Which of `versions` an earlier manifest of the channel listed, reading history copies newest
 * first below the live sequence, at most HISTORY_LOOKBACK of them. Nothing is read when
 * `versions` is empty (the usual case: the live manifest offers all git offers).
 */
export async function listedEarlier(
  store: ObjectStore,
  published: Pick<Published, 'channel' | 'manifest'>,
  versions: readonly string[],
  trusted: readonly PublicKeyInfo[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const live = published.manifest?.signed;
  if (live === undefined || versions.length === 0) return found;
  const prefix = historyPrefix(published.channel);
  const sequences = (await store.list(prefix))
    .map((key) => /^(\d{1,16})\.json$/.exec(key.slice(prefix.length)))
    .map((m) => (m === null ? NaN : Number(m[1])))
    .filter((n) => Number.isSafeInteger(n) && n < live.sequence)
    .sort((a, b) => b - a)
    .slice(0, HISTORY_LOOKBACK);
  for (const seq of sequences) {
    if (found.size === versions.length) break;
    const object = await store.get(historyKey(published.channel, seq));
    if (object === null) continue;
    const seen = inspectManifest(object.body, published.channel, trusted);
    if (seen.problem !== null || seen.manifest === null) continue; // never trust an unsigned copy
    for (const r of seen.manifest.signed.releases)
      if (versions.includes(r.version) && !found.has(r.version)) found.set(r.version, seq);
  }
  return found;
}
