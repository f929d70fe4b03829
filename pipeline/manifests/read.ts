/**
 * Reading what a target has published for a channel: the manifest (if any), whether it verifies
 * against the policy's keys, and the highest sequence ever written (latest.json, a history copy or
 * the sequence floor), so a lost latest.json, or history/ too, never lets a sequence go back.
 */
import { checkManifest, parseManifest, type ManifestEnvelope, type ManifestProblem } from '../../schema/manifest.js';
import { manifestKey, type Manifest, type Policy } from '../../schema/types.js';
import { publicKeyFromBase64, type PublicKeyInfo } from '../../schema/keys.js';
import { floorKey, parseFloor, type SequenceFloor } from './sequence-floor.js';
import type { ObjectStore, StoredObject } from './store/object-store.js';

export const historyPrefix = (channel: string): string => `history/${channel}/`;
export const historyKey = (channel: string, sequence: number): string => `${historyPrefix(channel)}${sequence}.json`;

export interface Published<M = Manifest> {
  channel: string;
  key: string;
  object: StoredObject | null;
  /** the parsed manifest when it matches the schema */
  manifest: M | null;
  /** why the published object is not a usable manifest (unreadable, schema, signature, channel) */
  problem: string | null;
  /** trusted key ids with a valid signature on it */
  signers: string[];
  /** sequence of latest.json, when it has a readable one */
  latestSequence: number | null;
  /** the highest history/<channel>/<n>.json that counts (historyLimit: not one past a floor that stands) */
  historySequence: number | null;
  /** the channel's sequence floor (sequence-floor.ts): its key, the ETag read (null: none), what it says */
  floor: { key: string; etag: string | null; value: SequenceFloor | null };
  /** the highest sequence ever published on the channel (latest.json, history, floor), or null for a first publish */
  previousSequence: number | null;
  /** the newest published_at known (a usable latest.json, the floor) and the key it was read from */
  lastPublished: { at: string; from: string } | null;
  /**
   * what was set aside as past `acceptableUntil` (ReadOptions): each object and the mark it
   * carried, e.g. "latest.json (sequence 1827…, published_at 2027-11-27T02:00:00Z)"; absent or
   * empty when nothing was
   */
  setAside?: string[];
}

export interface ReadOptions {
  /**
   * Unix seconds (store-clock.ts acceptableUntil): a sequence or published_at past it was
   * refused by every agent whose clock is right, so it binds nothing and is set aside: latest.json
   * carrying one reads as a problem (publish replaces it), a floor carrying one as no floor, and
   * history copies numbered past it do not count. Null or absent: every mark counts, but for
   * history copies numbered past a floor that stands (historyLimit).
   */
  acceptableUntil?: number | null;
}

/** Unix seconds of an RFC 3339 time, as agents compare published_at with their clock. */
const secondsOf = (at: string): number => Math.floor(Date.parse(at) / 1000);

export function trustedKeysOf(policy: Pick<Policy, 'trusted_keys'>): PublicKeyInfo[] {
  return policy.trusted_keys.map((k) => publicKeyFromBase64(k.public_key));
}

/** A spec's stage 1 (schema/manifest.ts parseManifest, schema/manifest2.ts parseManifest2). */
export type ParseManifest<M> = (
  raw: Buffer,
) =>
  | { manifest: M; problem: null; sequence: number }
  | { manifest: null; problem: ManifestProblem; sequence: number | null };

/** Where a spec publishes a channel, and how it reads it. */
export interface SpecReader<M> {
  key: string;
  historyPrefix: string;
  floorKey: string;
  parse: ParseManifest<M>;
}

const SPEC1: (channel: string) => SpecReader<Manifest> = (channel) => ({
  key: manifestKey(channel),
  historyPrefix: historyPrefix(channel),
  floorKey: floorKey(1, channel),
  parse: parseManifest,
});

/**
 * Interprets the bytes of a published latest.json with the agents' own checks (the spec's parse,
 * then schema/manifest.ts's signature and channel checks), expiry aside: publish re-signs an
 * expired manifest, drift reports it. Pure.
 */
export function inspectManifest<M extends ManifestEnvelope = Manifest>(
  body: Buffer,
  channel: string,
  trusted: readonly PublicKeyInfo[],
  parse: ParseManifest<M> = parseManifest as unknown as ParseManifest<M>,
): Pick<Published<M>, 'manifest' | 'problem' | 'signers' | 'latestSequence'> {
  const parsed = parse(body);
  // A damaged object still tells the sequence it carried, which must never be reused.
  if (parsed.problem !== null)
    return { manifest: null, problem: parsed.problem.message, signers: [], latestSequence: parsed.sequence };
  const manifest = parsed.manifest as M;
  const checked = checkManifest(manifest, { trustedKeys: trusted, channel, trustedBy: 'the policy' });
  return {
    manifest,
    problem: checked.problems[0]?.message ?? null,
    signers: checked.signers,
    latestSequence: parsed.sequence,
  };
}

export function maxHistorySequence(
  keys: readonly string[],
  channel: string,
  prefix = historyPrefix(channel),
  until = Number.MAX_SAFE_INTEGER,
): number | null {
  let max: number | null = null;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d{1,16})\.json$/.exec(k.slice(prefix.length));
    if (m === null) continue;
    const n = Number(m[1]);
    if (Number.isSafeInteger(n) && n <= until && (max === null || n > max)) max = n;
  }
  return max;
}

/**
 * The highest history copy that counts. Publish writes the floor before the history copy, with
 * the same sequence, and a floor only ever goes down when it is set aside (a floor lost is
 * rewritten above every copy that counts): so a copy numbered above a floor that stands was set
 * aside with the floor it outran (no agent whose clock is right accepted it) and never counts
 * again, not even within a day of its time, when it would number the next manifest a day ahead of
 * the clock (refused by the self-check, then by every agent a little behind), nor for plan and
 * drift, which read without a store clock. Without a floor (lost, damaged, set aside in this run,
 * or none yet) every copy up to `until` counts (all of them when it is null): a floor lost with
 * latest.json never lowers a sequence an agent may have taken. Pure.
 */
export function historyLimit(until: number | null, floor: SequenceFloor | null): number | undefined {
  return floor?.sequence ?? until ?? undefined;
}

/** What a channel has published in one spec (spec 1 unless told): latest.json and the highest sequence ever. */
export async function readPublished<M extends ManifestEnvelope = Manifest>(
  store: ObjectStore,
  channel: string,
  trusted: readonly PublicKeyInfo[],
  spec: SpecReader<M> = SPEC1(channel) as unknown as SpecReader<M>,
  opts: ReadOptions = {},
): Promise<Published<M>> {
  const { key, parse } = spec;
  const [object, history, floorObject] = await Promise.all([
    store.get(key),
    store.list(spec.historyPrefix),
    store.get(spec.floorKey),
  ]);
  let inspected =
    object === null
      ? { manifest: null, problem: null, signers: [], latestSequence: null }
      : inspectManifest(object.body, channel, trusted, parse);
  let floor = floorObject === null ? null : parseFloor(floorObject.body);
  const until = opts.acceptableUntil ?? null;
  const setAside: string[] = [];
  const past = (sequence: number | null, at: string | undefined): boolean =>
    until !== null && ((sequence !== null && sequence > until) || (at !== undefined && secondsOf(at) > until));
  const mark = (sequence: number | null, at: string | undefined): string =>
    `sequence ${sequence ?? '?'}${at === undefined ? '' : `, published_at ${at}`}`;
  const latestAt = inspected.manifest?.signed.published_at;
  if (past(inspected.latestSequence, latestAt)) {
    setAside.push(`${key} (${mark(inspected.latestSequence, latestAt)})`);
    const why = `carries ${mark(inspected.latestSequence, latestAt)}, more than a day past the object store's clock: every agent refuses it (MANIFEST_FROM_FUTURE), so it binds no later sequence`;
    inspected = { ...inspected, problem: why, latestSequence: null };
  }
  if (floor !== null && past(floor.sequence, floor.published_at)) {
    setAside.push(`${spec.floorKey} (${mark(floor.sequence, floor.published_at)})`);
    floor = null;
  }
  const limit = historyLimit(until, floor);
  const historySequence = maxHistorySequence(history, channel, spec.historyPrefix, limit);
  // Named with the latest.json or floor set aside beside them (the run that recovers); after it,
  // the floor that run wrote keeps the immutable copies from counting, also once their time nears.
  const beyond = until === null ? null : maxHistorySequence(history, channel, spec.historyPrefix);
  if (setAside.length > 0 && beyond !== null && beyond !== historySequence)
    setAside.push(`${spec.historyPrefix} (copies numbered past ${limit}, up to ${beyond})`);
  const seqs = [inspected.latestSequence, historySequence, floor?.sequence ?? null].filter(
    (n): n is number => n !== null,
  );
  // Only a manifest that verifies, or the floor publish wrote, may hold a later publish back.
  const times = [
    ...(inspected.problem === null && inspected.manifest !== null
      ? [{ at: inspected.manifest.signed.published_at, from: key }]
      : []),
    ...(floor !== null ? [{ at: floor.published_at, from: spec.floorKey }] : []),
  ];
  const lastPublished = times.reduce<{ at: string; from: string } | null>(
    (a, t) => (a === null || Date.parse(t.at) > Date.parse(a.at) ? t : a),
    null,
  );
  return {
    channel,
    key,
    object,
    ...inspected,
    historySequence,
    floor: { key: spec.floorKey, etag: floorObject?.etag ?? null, value: floor },
    previousSequence: seqs.length > 0 ? Math.max(...seqs) : null,
    lastPublished,
    setAside,
  };
}
