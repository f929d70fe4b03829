/**
 * Publishing the signed manifests of every channel: build (pure), compare with what is published,
 * and only when something changed (or a refresh is due) write the immutable history copy first
 * and then latest.json, each write conditional on what was read so two runs never interleave.
 */
import { ValidationError } from '../../schema/errors.js';
import type { SigningKey } from '../../schema/keys.js';
import { verifyManifest } from '../../schema/manifest.js';
import { signEnvelope } from '../../schema/signing.js';
import { manifestKey, type Manifest, type Policy, type Release, type SignedManifest } from '../../schema/types.js';
import { compareChannel, type ChannelAction } from './compare.js';
import { immutableChangeMessage } from './diff.js';
import { historyKey, trustedKeysOf } from './read.js';
import type { ObjectStore, WriteCondition } from './store/object-store.js';

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
  /** called after each channel is done, so a caller can report progress if a later one fails */
  onChannel?: (result: ChannelResult) => void;
}

/** The bytes of a manifest as published: stable, readable JSON (the signature covers the canonical form). */
export function serializeManifest(manifest: Manifest | { signed: SignedManifest; signatures: unknown[] }): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

export async function publishChannel(channel: string, input: PublishInput): Promise<ChannelResult> {
  const { policy, keys, store, now } = input;
  const trusted = trustedKeysOf(policy);
  const {
    published,
    expected: built,
    decision,
    immutable,
  } = await compareChannel(store, channel, {
    releases: input.releases,
    policy,
    now,
    trusted,
    keyIds: keys.map((k) => k.keyid),
    refresh: input.refresh === true,
  });
  if (immutable.length > 0) {
    throw new ValidationError(
      'IMMUTABLE_FIELD_CHANGED',
      immutable.map((c) => immutableChangeMessage(c, channel)).join(' '),
    );
  }
  const base = {
    channel,
    key: manifestKey(channel),
    ...decision,
    previousSequence: published.previousSequence,
  };
  if (decision.action === 'unchanged') {
    const s = published.manifest?.signed;
    return {
      ...base,
      sequence: s?.sequence ?? null,
      expiresAt: s?.expires_at ?? null,
      historyKey: null,
      versions: s?.releases.map((r) => r.version) ?? [],
      written: false,
    };
  }
  const envelope = signEnvelope(built, keys);
  const bytes = serializeManifest(envelope);
  // Never publish what agents would reject: verify with the same code, keys and clock they use.
  try {
    verifyManifest(bytes, { trustedKeys: trusted, channel, now, previous: null });
  } catch (err) {
    throw new ValidationError(
      'MANIFEST_SELF_CHECK',
      `the ${channel} manifest built here does not verify: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const history = historyKey(channel, built.sequence);
  const result: ChannelResult = {
    ...base,
    sequence: built.sequence,
    expiresAt: built.expires_at,
    historyKey: history,
    versions: built.releases.map((r) => r.version),
    written: false,
  };
  if (input.dryRun === true) return result;
  // The immutable copy first: if the run dies before latest.json, the sequence is still taken.
  await store.put(history, bytes, {
    contentType: MANIFEST_CONTENT_TYPE,
    cacheControl: HISTORY_CACHE_CONTROL,
    condition: { ifNoneMatch: '*' },
  });
  const condition: WriteCondition =
    published.object === null ? { ifNoneMatch: '*' } : { ifMatch: published.object.etag };
  await store.put(base.key, bytes, {
    contentType: MANIFEST_CONTENT_TYPE,
    cacheControl: policy.manifest.cache_control,
    condition,
  });
  return { ...result, written: true };
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
