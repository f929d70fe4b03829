/**
 * Reading what a target has published for a channel: the manifest (if any), whether it verifies
 * against the policy's keys, and the highest sequence ever written (latest.json or a history copy),
 * so a lost latest.json never lets a sequence go back.
 */
import { validSigners } from '../../schema/signing.js';
import { manifestKey, type Manifest, type Policy } from '../../schema/types.js';
import { publicKeyFromBase64, type PublicKeyInfo } from '../../schema/keys.js';
import { validateManifest, describeSchemaErrors } from '../../schema/validators.js';
import type { ObjectStore, StoredObject } from './store/object-store.js';

export const historyPrefix = (channel: string): string => `history/${channel}/`;
export const historyKey = (channel: string, sequence: number): string => `${historyPrefix(channel)}${sequence}.json`;

export interface Published {
  channel: string;
  key: string;
  object: StoredObject | null;
  /** the parsed manifest when it matches the schema */
  manifest: Manifest | null;
  /** why the published object is not a usable manifest (unreadable, schema, signature, channel) */
  problem: string | null;
  /** trusted key ids with a valid signature on it */
  signers: string[];
  /** sequence of latest.json, when it has a readable one */
  latestSequence: number | null;
  /** the highest history/<channel>/<n>.json */
  historySequence: number | null;
  /** the highest sequence ever published on the channel, or null for a first publish */
  previousSequence: number | null;
}

export function trustedKeysOf(policy: Pick<Policy, 'trusted_keys'>): PublicKeyInfo[] {
  return policy.trusted_keys.map((k) => publicKeyFromBase64(k.public_key));
}

/** Interprets the bytes of a published latest.json. Pure. */
export function inspectManifest(
  body: Buffer,
  channel: string,
  trusted: readonly PublicKeyInfo[],
): Pick<Published, 'manifest' | 'problem' | 'signers' | 'latestSequence'> {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    return {
      manifest: null,
      problem: `not valid UTF-8 JSON (${(err as Error).message})`,
      signers: [],
      latestSequence: null,
    };
  }
  // A damaged object still tells the sequence it carried, which must never be reused.
  const seq = (data as { signed?: { sequence?: unknown } } | null)?.signed?.sequence;
  const latestSequence = Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : null;
  if (!validateManifest(data)) {
    return {
      manifest: null,
      problem: `does not match the manifest schema: ${describeSchemaErrors(validateManifest.errors)}`,
      signers: [],
      latestSequence,
    };
  }
  const signers = validSigners(data, trusted);
  let problem: string | null = null;
  if (signers.length === 0) problem = 'has no valid signature from a key the policy trusts';
  else if (data.signed.channel !== channel)
    problem = `is signed for channel "${data.signed.channel}", not "${channel}"`;
  return { manifest: data, problem, signers, latestSequence };
}

export function maxHistorySequence(keys: readonly string[], channel: string): number | null {
  const prefix = historyPrefix(channel);
  let max: number | null = null;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d{1,16})\.json$/.exec(k.slice(prefix.length));
    if (m === null) continue;
    const n = Number(m[1]);
    if (Number.isSafeInteger(n) && (max === null || n > max)) max = n;
  }
  return max;
}

export async function readPublished(
  store: ObjectStore,
  channel: string,
  trusted: readonly PublicKeyInfo[],
): Promise<Published> {
  const key = manifestKey(channel);
  const [object, history] = await Promise.all([store.get(key), store.list(historyPrefix(channel))]);
  const inspected =
    object === null
      ? { manifest: null, problem: null, signers: [], latestSequence: null }
      : inspectManifest(object.body, channel, trusted);
  const historySequence = maxHistorySequence(history, channel);
  const seqs = [inspected.latestSequence, historySequence].filter((n): n is number => n !== null);
  return {
    channel,
    key,
    object,
    ...inspected,
    historySequence,
    previousSequence: seqs.length > 0 ? Math.max(...seqs) : null,
  };
}
