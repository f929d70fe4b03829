/**
 * One channel, published against expected: read what the target holds, build what git implies,
 * and judge the two once for publish (write or not), plan (what publish would do) and drift
 * (what differs). The judging is pure; `compareChannel` adds the one read.
 */
import { canonicalize } from '../../schema/canonical.js';
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { Manifest, Policy, Release, SignedManifest } from '../../schema/types.js';
import { buildSignedManifest, manifestContent } from './build.js';
import { diffManifests, immutableChanges, type ImmutableChange } from './diff.js';
import { readPublished, type Published } from './read.js';
import type { ObjectStore } from './store/object-store.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export type ChannelAction = 'created' | 'updated' | 'refreshed' | 'unchanged';

export interface Decision {
  action: ChannelAction;
  /** why it is (or is not) written, one line */
  reason: string;
  /** what changed against the published manifest: "<field>: git says X, published says Y" */
  changes: string[];
}

/** How close a manifest is to its expiry: past it, within the refresh window, or neither. */
export interface Expiry {
  state: 'expired' | 'due' | 'fresh';
  expiresAt: string;
  leftMs: number;
}

export function expiryOf(expiresAt: string, now: Date, refreshWindowDays: number): Expiry {
  const leftMs = Date.parse(expiresAt) - now.getTime();
  const state = leftMs <= 0 ? 'expired' : leftMs <= refreshWindowDays * DAY_MS ? 'due' : 'fresh';
  return { state, expiresAt, leftMs };
}

export interface JudgeOptions {
  now: Date;
  refreshWindowDays: number;
  /** re-sign an unchanged manifest within the refresh window (an expired one is always re-signed) */
  refresh: boolean;
  /** the keys publish signs with; null when the caller holds none (judge content and expiry only) */
  keyIds: readonly string[] | null;
}

/** The published manifest when it is usable (schema, signature, channel), else null. */
export function usable(published: Pick<Published, 'manifest' | 'problem'>): Manifest | null {
  return published.problem === null ? published.manifest : null;
}

/** What deciding reads of a signed manifest, whatever its spec. */
export interface SignedLike {
  expires_at: string;
}

/** How one spec's content is compared: the content (no sequence or times) and the lines that differ. */
export interface ContentRules<S> {
  content: (signed: S) => unknown;
  diff: (expected: S, actual: S) => string[];
}

/** How one spec is judged: its content rules, and what of a published version must never change. */
export interface SpecRules<S> extends ContentRules<S> {
  immutable: (expected: S, current: S) => ImmutableChange[];
}

const SPEC1_RULES: SpecRules<SignedManifest> = {
  content: manifestContent,
  diff: diffManifests,
  immutable: immutableChanges,
};

/** Whether a channel needs writing. Pure: the published state, the new build, keys, time, policy. */
export function decide(
  published: Pick<Published, 'object' | 'manifest' | 'problem'>,
  built: SignedManifest,
  keyIds: readonly string[] | null,
  now: Date,
  opts: { refresh: boolean; refreshWindowDays: number },
): Decision {
  return decideSigned(published, built, keyIds, now, opts, SPEC1_RULES);
}

/** `decide` for any spec: the content rules say what counts as a change. */
export function decideSigned<S extends SignedLike>(
  published: PublishedLike<S>,
  built: S,
  keyIds: readonly string[] | null,
  now: Date,
  opts: { refresh: boolean; refreshWindowDays: number },
  rules: ContentRules<S>,
): Decision {
  if (published.object === null) return { action: 'created', reason: missingReason(published), changes: [] };
  const current = published.problem === null ? published.manifest : null;
  if (current === null) {
    return { action: 'updated', reason: `the published manifest ${published.problem ?? 'is unreadable'}`, changes: [] };
  }
  if (canonicalize(rules.content(current.signed)) !== canonicalize(rules.content(built))) {
    return { action: 'updated', reason: 'the releases changed', changes: rules.diff(built, current.signed) };
  }
  const signedBy = [...new Set(current.signatures.map((s) => s.keyid))].sort();
  const want = keyIds === null ? signedBy : [...new Set(keyIds)].sort();
  if (signedBy.join() !== want.join()) {
    return {
      action: 'updated',
      reason: `the signing keys changed (published by ${signedBy.length}, now ${want.length} key(s))`,
      changes: [],
    };
  }
  const expiry = expiryOf(current.signed.expires_at, now, opts.refreshWindowDays);
  // An expired manifest freezes every agent on its current version: always re-sign it.
  if (expiry.state === 'expired')
    return { action: 'refreshed', reason: `it expired at ${expiry.expiresAt}`, changes: [] };
  if (opts.refresh && expiry.state === 'due') {
    return {
      action: 'refreshed',
      reason: `it expires at ${expiry.expiresAt}, within the ${opts.refreshWindowDays}-day refresh window`,
      changes: [],
    };
  }
  return { action: 'unchanged', reason: `unchanged; expires at ${expiry.expiresAt}`, changes: [] };
}

export interface Judgement {
  decision: Decision;
  /** download_url, sha256 or size that git changed for a version already published */
  immutable: ImmutableChange[];
  /** the usable published manifest's expiry, null when nothing usable is published */
  expiry: Expiry | null;
}

/** What judging reads of what is published, whatever its spec. */
export interface PublishedLike<S> {
  object: unknown;
  manifest: { signed: S; signatures: readonly { keyid: string }[] } | null;
  problem: string | null;
  /** where latest.json is, and what else of the channel is there when it is not (read.ts) */
  key?: string;
  historySequence?: number | null;
  floor?: { value: { sequence: number } | null };
}

/**
 * Why a channel with no latest.json is written: a first publish, or a manifest that was deleted
 * or lost while its history copies (or the sequence floor) remain, so it is not "nothing yet".
 */
function missingReason(p: Pick<PublishedLike<unknown>, 'key' | 'historySequence' | 'floor'>): string {
  const key = p.key ?? 'latest.json';
  const history = p.historySequence ?? null;
  if (history !== null)
    return `nothing is at ${key}, but history/ holds copies up to sequence ${history} (deleted or lost?): written again from git, numbered after them`;
  const floor = p.floor?.value?.sequence ?? null;
  if (floor !== null)
    return `nothing is at ${key} nor in history/, but the sequence floor says sequence ${floor} was published (deleted or lost?): written again from git, numbered after it`;
  return 'nothing was published on this channel yet';
}

/** The pure half of comparing a channel, for any spec: the decision, immutable changes, expiry. */
export function judgeWith<S extends SignedLike>(
  rules: SpecRules<S>,
  published: PublishedLike<S>,
  expected: S,
  opts: JudgeOptions,
): Judgement {
  const current = published.problem === null ? published.manifest : null;
  return {
    decision: decideSigned(published, expected, opts.keyIds, opts.now, opts, rules),
    // Agents may already hold a package under the published hash: never re-point a version.
    immutable: current === null ? [] : rules.immutable(expected, current.signed),
    expiry: current === null ? null : expiryOf(current.signed.expires_at, opts.now, opts.refreshWindowDays),
  };
}

/** The pure half of `compareChannel`. */
export function judgeChannel(
  published: Pick<Published, 'object' | 'manifest' | 'problem'>,
  expected: SignedManifest,
  opts: JudgeOptions,
): Judgement {
  return judgeWith(SPEC1_RULES, published, expected, opts);
}

/** What comparing needs besides what is published and the build, whatever the spec. */
export interface CompareOptions {
  policy: { manifest: Pick<Policy['manifest'], 'refresh_window_days'> };
  now: Date;
  keyIds?: readonly string[] | null;
  refresh?: boolean;
  /** marks past it are set aside (read.ts ReadOptions): publish's, from the store's clock */
  acceptableUntil?: number | null;
}

/** Builds what git implies, numbered after the highest sequence ever published, and judges it. */
export function compareWith<S extends SignedLike, P extends PublishedLike<S> & { previousSequence: number | null }>(
  rules: SpecRules<S>,
  published: P,
  build: (previousSequence: number | null) => S,
  input: CompareOptions,
): Judgement & { published: P; expected: S } {
  const expected = build(published.previousSequence);
  const judgement = judgeWith(rules, published, expected, {
    now: input.now,
    refreshWindowDays: input.policy.manifest.refresh_window_days,
    refresh: input.refresh === true,
    keyIds: input.keyIds ?? null,
  });
  return { published, expected, ...judgement };
}

export interface CompareInput extends CompareOptions {
  releases: readonly Release[];
  policy: Pick<Policy, 'manifest'>;
  /** the policy's trusted keys (trustedKeysOf) */
  trusted: readonly PublicKeyInfo[];
}

export interface ChannelComparison extends Judgement {
  published: Published;
  /** what git implies, numbered after the highest sequence ever published */
  expected: SignedManifest;
}

export async function compareChannel(
  store: ObjectStore,
  channel: string,
  input: CompareInput,
): Promise<ChannelComparison> {
  const published = await readPublished(store, channel, input.trusted, undefined, {
    acceptableUntil: input.acceptableUntil ?? null,
  });
  const { releases, policy, now } = input;
  return compareWith(
    SPEC1_RULES,
    published,
    (previousSequence) => buildSignedManifest({ channel, releases, policy, now, previousSequence }),
    input,
  );
}
