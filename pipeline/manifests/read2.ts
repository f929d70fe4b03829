/**
 * Reading what a target has published for a channel in spec 2 (`v2/…/latest.json` and
 * `history/v2/<channel>/`): the manifest (if any), whether it verifies against the policy's keys,
 * and the highest sequence ever written, so a lost latest.json never lets spec 2's own sequence
 * go back. The spec-1 twin is read.ts.
 */
import { checkManifest } from '../../schema/manifest.js';
import { manifest2Problems } from '../../schema/manifest2.js';
import { history2Key, manifest2Key } from '../../schema/manifest2.schema.js';
import { MAX_MANIFEST_BYTES } from '../../schema/manifest.schema.js';
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { Manifest, Manifest2 } from '../../schema/types.js';
import { describeSchemaErrors, validateManifest2 } from '../../schema/validators.js';
import { maxHistorySequence, type Published } from './read.js';
import type { ObjectStore } from './store/object-store.js';

export const history2Prefix = (channel: string): string => history2Key(channel, 0).replace(/0\.json$/, '');

export type Published2 = Omit<Published, 'manifest'> & { manifest: Manifest2 | null };

/** The sequence a damaged object still says, so a publisher never reuses it. */
function sequenceIn(data: unknown): number | null {
  const seq = (data as { signed?: { sequence?: unknown } } | null)?.signed?.sequence;
  return Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : null;
}

/** A published spec-2 latest.json, with the agents' checks (expiry aside: publish re-signs, drift reports). Pure. */
export function inspectManifest2(
  body: Buffer,
  channel: string,
  trusted: readonly PublicKeyInfo[],
): Pick<Published2, 'manifest' | 'problem' | 'signers' | 'latestSequence'> {
  const refuse = (problem: string, data: unknown = null) => ({
    manifest: null,
    problem,
    signers: [],
    latestSequence: sequenceIn(data),
  });
  if (body.length > MAX_MANIFEST_BYTES) return refuse(`is ${body.length} bytes; at most ${MAX_MANIFEST_BYTES}`);
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    return refuse(`is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!validateManifest2(data))
    return refuse(`does not match the spec-2 schema: ${describeSchemaErrors(validateManifest2.errors)}`, data);
  const rules = manifest2Problems(data.signed);
  if (rules.length > 0) return refuse(`breaks spec 2's rules: ${rules.join('; ')}`, data);
  // signature, channel: the same checks as spec 1 (they read only the signed head)
  const checked = checkManifest(data as unknown as Manifest, {
    trustedKeys: trusted,
    channel,
    trustedBy: 'the policy',
  });
  return {
    manifest: data,
    problem: checked.problems[0]?.message ?? null,
    signers: checked.signers,
    latestSequence: data.signed.sequence,
  };
}

export async function readPublished2(
  store: ObjectStore,
  channel: string,
  trusted: readonly PublicKeyInfo[],
): Promise<Published2> {
  const key = manifest2Key(channel);
  const prefix = history2Prefix(channel);
  const [object, history] = await Promise.all([store.get(key), store.list(prefix)]);
  const inspected =
    object === null
      ? { manifest: null, problem: null, signers: [], latestSequence: null }
      : inspectManifest2(object.body, channel, trusted);
  const historySequence = maxHistorySequence(history, channel, prefix);
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
