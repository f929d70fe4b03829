/**
 * Publishing the signed manifests of every channel, both specs by the same rules (prepareSpec):
 * hold this machine's clock against the object store's first (store-clock.ts), then build
 * (pure), compare with what is published, refuse a clock behind the last publish, and only when
 * something changed (or a refresh is due) write the sequence floor, the immutable history copy and
 * then latest.json, each write conditional on what was read so two runs never interleave.
 */
import { messageOf, ValidationError } from '../../schema/errors.js';
import type { PublicKeyInfo, SigningKey } from '../../schema/keys.js';
import { verifyManifest, type VerifyOptions } from '../../schema/manifest.js';
import { verifyManifest2 } from '../../schema/manifest2.js';
import { history2Key, manifest2Key } from '../../schema/manifest2.schema.js';
import type { Offered } from '../../schema/channel.js';
import { shareAt, type RolloutStep } from '../../schema/rollout.js';
import { signEnvelope } from '../../schema/signing.js';
import { manifestKey, type Manifest, type Policy, type Release } from '../../schema/types.js';
import { NO_COMMIT } from './provenance.js';
import type { Provenance } from './build2.js';
import { compareChannel, type ChannelAction, type Decision } from './compare.js';
import { compareChannel2 } from './compare2.js';
import { immutableChangeMessage, type ImmutableChange } from './diff.js';
import { checkClock, DEFAULT_CLOCK_SKEW_SECONDS } from './publish-clock.js';
import { storeClockLimit } from './store-clock.js';
import { historyKey, trustedKeysOf, type Published } from './read.js';
import { readerDifferences } from './readers.js';
import { floorBytes, type SequenceFloor, type SpecNumber } from './sequence-floor.js';
import type { ObjectStore, WriteCondition } from './store/object-store.js';

const UNKNOWN_PROVENANCE: Provenance = { commit: NO_COMMIT, workflow_run: null, actor: null };

export const MANIFEST_CONTENT_TYPE = 'application/json';
/** history copies never change once written */
export const HISTORY_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** What publish did with one channel: spec 1 (at today's paths), and spec 2 under v2/. */
export interface ChannelResult extends SpecResult {
  channel: string;
  /** the channel's spec-2 manifest (v2/…) */
  v2: SpecResult;
  /** what spec-1 readers get that spec-2 readers do not ("1.1.0 not offered (requires macOS ≥ 14.0)") */
  readers: string[];
}

export interface PublishInput {
  releases: readonly Release[];
  policy: Policy;
  keys: readonly SigningKey[];
  store: ObjectStore;
  now: Date;
  /** re-sign an unchanged manifest whose expiry falls within the policy's refresh window */
  refresh?: boolean;
  dryRun?: boolean;
  /** where the spec-2 manifests come from (commit, workflow run, actor); readProvenance at the edge */
  provenance?: Provenance;
  /** how far the clock may be behind the last publish, or from the store's clock (MNGD_CLOCK_SKEW_SECONDS; default 300) */
  clockSkewSeconds?: number;
  /** called after each channel is done, so a caller can report progress if a later one fails */
  onChannel?: (result: ChannelResult) => void;
}

/** The bytes of a manifest as published: stable, readable JSON (the signature covers the canonical form). */
export function serializeManifest(manifest: Manifest | { signed: unknown; signatures: unknown[] }): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** What publish did with one spec of one channel. */
export interface SpecResult {
  key: string;
  action: ChannelAction;
  /** why it was (or was not) written, one line */
  reason: string;
  /** what changed against the published manifest (empty when created or unchanged) */
  changes: string[];
  /** the sequence now published (the new one, or the unchanged one) */
  sequence: number | null;
  previousSequence: number | null;
  expiresAt: string | null;
  historyKey: string | null;
  /** what the manifest now published lists: each version with its share in force at publish time */
  offers: Offered[];
  /** its min_required_version */
  floor: string | null;
  /** false for --dry-run, or when nothing needed writing */
  written: boolean;
  /** marks more than a day past the store's clock that no agent accepted, set aside (read.ts); absent: none */
  setAside?: string[];
}

/** The writes of one spec, prepared: null when nothing is to be written. */
interface Prepared {
  result: SpecResult;
  /** the sequence floor, written first (also alone, when a manifest published before it has none) */
  floor: { key: string; bytes: Buffer; etag: string | null } | null;
  manifest: { history: string; bytes: Buffer; etag: string | null } | null;
}

/** Where one spec publishes, and how agents verify it (the self-check uses the same code). */
interface PublishSpec {
  spec: SpecNumber;
  /** how messages name the channel's manifest: "stable", "stable spec-2" */
  name: (channel: string) => string;
  key: (channel: string) => string;
  historyKey: (channel: string, sequence: number) => string;
  verify: (bytes: Buffer, opts: VerifyOptions) => unknown;
  /** each listed release and its share in force at `t` (spec 2 carries steps; spec 1 the share itself) */
  offers: (signed: SignedHead, t: number) => Offered[];
}

interface SignedHead {
  sequence: number;
  published_at: string;
  expires_at: string;
  min_required_version: string | null;
  releases: readonly { version: string; rollout_percent?: number; rollout?: readonly RolloutStep[] }[];
}

const SPEC1: PublishSpec = {
  spec: 1,
  name: (c) => c,
  key: manifestKey,
  historyKey,
  verify: verifyManifest,
  offers: (s) => s.releases.map((r) => ({ version: r.version, rollout_percent: r.rollout_percent ?? 0 })),
};
const SPEC2: PublishSpec = {
  spec: 2,
  name: (c) => `${c} spec-2`,
  key: manifest2Key,
  historyKey: history2Key,
  verify: verifyManifest2,
  offers: (s, t) => s.releases.map((r) => ({ version: r.version, rollout_percent: shareAt(r.rollout ?? [], t) })),
};

/** What publish reads of a comparison, whatever its spec. */
interface Comparison<S extends SignedHead> {
  published: Published<{ signed: S }>;
  expected: S;
  decision: Decision;
  immutable: readonly ImmutableChange[];
}

function refuseImmutable(immutable: readonly ImmutableChange[], name: string): void {
  if (immutable.length > 0)
    throw new ValidationError(
      'IMMUTABLE_FIELD_CHANGED',
      immutable.map((c) => immutableChangeMessage(c, name)).join(' '),
    );
}

/**
 * One spec of one channel, checked and signed, nothing written: refuses a changed immutable field
 * and a clock behind the last publish, and never prepares what agents would reject (verified with
 * their code, keys and clock). The same rules for both specs.
 */
function prepareSpec<S extends SignedHead>(
  spec: PublishSpec,
  channel: string,
  cmp: Comparison<S>,
  input: PublishInput,
  trusted: readonly PublicKeyInfo[],
): Prepared {
  const { keys, now } = input;
  const name = spec.name(channel);
  refuseImmutable(cmp.immutable, name);
  const { published } = cmp;
  checkClock(
    now,
    published.lastPublished,
    input.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    `the ${name} manifest`,
  );
  const base = {
    key: spec.key(channel),
    ...cmp.decision,
    previousSequence: published.previousSequence,
    written: false,
    ...(published.setAside !== undefined && published.setAside.length > 0 ? { setAside: published.setAside } : {}),
  };
  const floorWrite = (floor: SequenceFloor) => ({
    key: published.floor.key,
    bytes: floorBytes(spec.spec, channel, floor),
    etag: published.floor.etag,
  });
  if (cmp.decision.action === 'unchanged') {
    const s = published.manifest?.signed;
    // A target published before floors existed gets its floor now, so losing latest.json and history/ is safe.
    const behind =
      published.previousSequence !== null &&
      published.lastPublished !== null &&
      (published.floor.value?.sequence ?? -1) < published.previousSequence;
    return {
      result: {
        ...base,
        sequence: s?.sequence ?? null,
        expiresAt: s?.expires_at ?? null,
        historyKey: null,
        offers: s === undefined ? [] : spec.offers(s, now.getTime()),
        floor: s?.min_required_version ?? null,
      },
      floor: behind
        ? floorWrite({ sequence: published.previousSequence!, published_at: published.lastPublished!.at })
        : null,
      manifest: null,
    };
  }
  const built = cmp.expected;
  const bytes = serializeManifest(signEnvelope(built, keys));
  try {
    spec.verify(bytes, { trustedKeys: trusted, channel, now, previous: null });
  } catch (err) {
    throw new ValidationError(
      'MANIFEST_SELF_CHECK',
      `the ${name} manifest built here does not verify: ${messageOf(err)}`,
      { cause: err },
    );
  }
  const history = spec.historyKey(channel, built.sequence);
  return {
    result: {
      ...base,
      sequence: built.sequence,
      expiresAt: built.expires_at,
      historyKey: history,
      offers: spec.offers(built, now.getTime()),
      floor: built.min_required_version,
    },
    floor: floorWrite({ sequence: built.sequence, published_at: built.published_at }),
    manifest: { history, bytes, etag: published.object?.etag ?? null },
  };
}

const condition = (etag: string | null): WriteCondition => (etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag });

/**
 * The floor first (the sequence is taken before anything shows it), then the immutable copy (if
 * the run dies before latest.json, the sequence is still taken), then latest.json; each write
 * conditional on what was read.
 */
async function write(store: ObjectStore, key: string, p: Prepared, cacheControl: string): Promise<boolean> {
  if (p.floor !== null)
    await store.put(p.floor.key, p.floor.bytes, {
      contentType: MANIFEST_CONTENT_TYPE,
      cacheControl: 'no-store',
      condition: condition(p.floor.etag),
    });
  const w = p.manifest;
  if (w === null) return false;
  await store.put(w.history, w.bytes, {
    contentType: MANIFEST_CONTENT_TYPE,
    cacheControl: HISTORY_CACHE_CONTROL,
    condition: { ifNoneMatch: '*' },
  });
  await store.put(key, w.bytes, { contentType: MANIFEST_CONTENT_TYPE, cacheControl, condition: condition(w.etag) });
  return true;
}

/**
 * One channel, both specs: spec 1 at today's paths (the conservative projection) and spec 2 under
 * v2/, each with its own sequence and history. Both are built, checked and verified before either
 * is written, so a refusal writes nothing. `until`: marks past it are set aside (publishManifests).
 */
export async function publishChannel(
  channel: string,
  input: PublishInput,
  until: number | null = null,
): Promise<ChannelResult> {
  const { releases, policy, now, store } = input;
  const trusted = trustedKeysOf(policy);
  const keyIds = input.keys.map((k) => k.keyid);
  const common = { releases, policy, now, trusted, keyIds, refresh: input.refresh, acceptableUntil: until };
  const cmp1 = await compareChannel(store, channel, common);
  const one = prepareSpec(SPEC1, channel, cmp1, input, trusted);
  const provenance = input.provenance ?? UNKNOWN_PROVENANCE;
  const cmp2 = await compareChannel2(store, channel, { ...common, provenance });
  const two = prepareSpec(SPEC2, channel, cmp2, input, trusted);
  const readers = readerDifferences(cmp2.expected, cmp1.expected, releases);
  const result: ChannelResult = { channel, ...one.result, v2: two.result, readers };
  if (input.dryRun === true) return result;
  const cache = policy.manifest.cache_control;
  if (await write(store, one.result.key, one, cache)) result.written = true;
  if (await write(store, two.result.key, two, cache)) result.v2 = { ...two.result, written: true };
  return result;
}

/**
 * Publishes every channel of the policy, in the policy's order; stops at the first failure. First,
 * before anything is read or written, this clock against the store's (store-clock.ts; `input.now`
 * counts as read when this is called): apart by more than the skew refuses.
 */
export async function publishManifests(input: PublishInput): Promise<ChannelResult[]> {
  const until = await storeClockLimit(input.store, input.now, input.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS);
  const results: ChannelResult[] = [];
  for (const channel of input.policy.channels) {
    const r = await publishChannel(channel, input, until);
    results.push(r);
    input.onChannel?.(r);
  }
  return results;
}
