/**
 * Publishing the signed manifests of every channel: build (pure), compare with what is published,
 * and only when something changed (or a refresh is due) write the immutable history copy first
 * and then latest.json, each write conditional on what was read so two runs never interleave.
 */
import { messageOf, ValidationError } from '../../schema/errors.js';
import type { PublicKeyInfo, SigningKey } from '../../schema/keys.js';
import { verifyManifest } from '../../schema/manifest.js';
import { history2Key, manifest2Key } from '../../schema/manifest2.schema.js';
import { signEnvelope } from '../../schema/signing.js';
import { manifestKey, type Manifest, type Policy, type Release } from '../../schema/types.js';
import { NO_COMMIT } from './provenance.js';
import type { Provenance } from './build2.js';
import { compareChannel, type ChannelAction, type Decision } from './compare.js';
import { compareChannel2 } from './compare2.js';
import { immutableChangeMessage, type ImmutableChange } from './diff.js';
import { historyKey, trustedKeysOf } from './read.js';
import { inspectManifest2 } from './read2.js';
import { readerDifferences } from './readers.js';
import type { ObjectStore, WriteCondition } from './store/object-store.js';

const UNKNOWN_PROVENANCE: Provenance = { commit: NO_COMMIT, workflow_run: null, actor: null };

export const MANIFEST_CONTENT_TYPE = 'application/json';
/** history copies never change once written */
export const HISTORY_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export interface ChannelResult {
  channel: string;
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
  versions: string[];
  /** false for --dry-run, or when nothing needed writing */
  written: boolean;
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
  reason: string;
  changes: string[];
  sequence: number | null;
  previousSequence: number | null;
  expiresAt: string | null;
  historyKey: string | null;
  versions: string[];
  written: boolean;
}

/** The writes of one spec, prepared: null when nothing is to be written. */
interface Prepared {
  result: SpecResult;
  write: { history: string; bytes: Buffer; etag: string | null } | null;
}

function unchanged(
  key: string,
  decision: Decision,
  previousSequence: number | null,
  s: { sequence: number; expires_at: string; releases: readonly { version: string }[] } | undefined,
): Prepared {
  return {
    result: {
      key,
      ...decision,
      previousSequence,
      sequence: s?.sequence ?? null,
      expiresAt: s?.expires_at ?? null,
      historyKey: null,
      versions: s?.releases.map((r) => r.version) ?? [],
      written: false,
    },
    write: null,
  };
}

function prepared(
  key: string,
  decision: Decision,
  previousSequence: number | null,
  built: { sequence: number; expires_at: string; releases: readonly { version: string }[] },
  history: string,
  bytes: Buffer,
  etag: string | null,
): Prepared {
  return {
    result: {
      key,
      ...decision,
      previousSequence,
      sequence: built.sequence,
      expiresAt: built.expires_at,
      historyKey: history,
      versions: built.releases.map((r) => r.version),
      written: false,
    },
    write: { history, bytes, etag },
  };
}

function refuseImmutable(immutable: readonly ImmutableChange[], channel: string): void {
  if (immutable.length > 0)
    throw new ValidationError(
      'IMMUTABLE_FIELD_CHANGED',
      immutable.map((c) => immutableChangeMessage(c, channel)).join(' '),
    );
}

async function prepareSpec1(channel: string, input: PublishInput, trusted: PublicKeyInfo[]) {
  const { policy, keys, now } = input;
  const cmp = await compareChannel(input.store, channel, {
    releases: input.releases,
    policy,
    now,
    trusted,
    keyIds: keys.map((k) => k.keyid),
    refresh: input.refresh === true,
  });
  refuseImmutable(cmp.immutable, channel);
  const key = manifestKey(channel);
  const prev = cmp.published.previousSequence;
  if (cmp.decision.action === 'unchanged')
    return { cmp, prep: unchanged(key, cmp.decision, prev, cmp.published.manifest?.signed) };
  const bytes = serializeManifest(signEnvelope(cmp.expected, keys));
  // Never publish what agents would reject: verify with the same code, keys and clock they use.
  try {
    verifyManifest(bytes, { trustedKeys: trusted, channel, now, previous: null });
  } catch (err) {
    throw new ValidationError(
      'MANIFEST_SELF_CHECK',
      `the ${channel} manifest built here does not verify: ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
  const history = historyKey(channel, cmp.expected.sequence);
  return {
    cmp,
    prep: prepared(key, cmp.decision, prev, cmp.expected, history, bytes, cmp.published.object?.etag ?? null),
  };
}

async function prepareSpec2(channel: string, input: PublishInput, trusted: PublicKeyInfo[]) {
  const { policy, keys, now } = input;
  const cmp = await compareChannel2(input.store, channel, {
    releases: input.releases,
    policy,
    now,
    trusted,
    provenance: input.provenance ?? UNKNOWN_PROVENANCE,
    keyIds: keys.map((k) => k.keyid),
    refresh: input.refresh === true,
  });
  refuseImmutable(cmp.immutable, `${channel} spec-2`);
  const key = manifest2Key(channel);
  const prev = cmp.published.previousSequence;
  if (cmp.decision.action === 'unchanged')
    return { cmp, prep: unchanged(key, cmp.decision, prev, cmp.published.manifest?.signed) };
  const bytes = serializeManifest(signEnvelope(cmp.expected, keys));
  // The same self-check for spec 2: its schema, its rules, a trusted signature, the channel, expiry.
  const check = inspectManifest2(bytes, channel, trusted);
  const problem =
    check.problem ?? (Date.parse(cmp.expected.expires_at) > now.getTime() ? null : 'expires before it is published');
  if (problem !== null)
    throw new ValidationError(
      'MANIFEST_SELF_CHECK',
      `the ${channel} spec-2 manifest built here does not verify: it ${problem}`,
    );
  const history = history2Key(channel, cmp.expected.sequence);
  return {
    cmp,
    prep: prepared(key, cmp.decision, prev, cmp.expected, history, bytes, cmp.published.object?.etag ?? null),
  };
}

/** The immutable copy first (if the run dies before latest.json, the sequence is still taken), then latest. */
async function write(store: ObjectStore, key: string, w: NonNullable<Prepared['write']>, cacheControl: string) {
  await store.put(w.history, w.bytes, {
    contentType: MANIFEST_CONTENT_TYPE,
    cacheControl: HISTORY_CACHE_CONTROL,
    condition: { ifNoneMatch: '*' },
  });
  const condition: WriteCondition = w.etag === null ? { ifNoneMatch: '*' } : { ifMatch: w.etag };
  await store.put(key, w.bytes, { contentType: MANIFEST_CONTENT_TYPE, cacheControl, condition });
}

/**
 * One channel, both specs: spec 1 at today's paths (the conservative projection) and spec 2 under
 * v2/, each with its own sequence and history. Both are built, checked and verified before either
 * is written, so a refusal writes nothing.
 */
export async function publishChannel(channel: string, input: PublishInput): Promise<ChannelResult> {
  const trusted = trustedKeysOf(input.policy);
  const one = await prepareSpec1(channel, input, trusted);
  const two = await prepareSpec2(channel, input, trusted);
  const readers = readerDifferences(two.cmp.expected, one.cmp.expected, input.releases);
  const result: ChannelResult = { channel, ...one.prep.result, v2: two.prep.result, readers };
  if (input.dryRun === true) return result;
  const cache = input.policy.manifest.cache_control;
  if (one.prep.write !== null) {
    await write(input.store, one.prep.result.key, one.prep.write, cache);
    result.written = true;
  }
  if (two.prep.write !== null) {
    await write(input.store, two.prep.result.key, two.prep.write, cache);
    result.v2 = { ...two.prep.result, written: true };
  }
  return result;
}

/** Publishes every channel of the policy, in the policy's order; stops at the first failure. */
export async function publishManifests(input: PublishInput): Promise<ChannelResult[]> {
  const results: ChannelResult[] = [];
  for (const channel of input.policy.channels) {
    const r = await publishChannel(channel, input);
    results.push(r);
    input.onChannel?.(r);
  }
  return results;
}
