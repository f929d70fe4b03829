/**
 * Reading what a target has published for a channel in spec 2 (`v2/…/latest.json` and
 * `history/v2/<channel>/`): read.ts's reading with spec 2's parse (schema/manifest2.ts), so a
 * publisher checks its own spec-2 bytes exactly as a spec-2 agent does, and a lost latest.json
 * never lets spec 2's own sequence go back.
 */
import { parseManifest2 } from '../../schema/manifest2.js';
import { history2Key, manifest2Key } from '../../schema/manifest2.schema.js';
import type { PublicKeyInfo } from '../../schema/keys.js';
import type { Manifest2 } from '../../schema/types.js';
import { inspectManifest, readPublished, type Published, type ReadOptions, type SpecReader } from './read.js';
import { floorKey } from './sequence-floor.js';
import type { ObjectStore } from './store/object-store.js';

export const history2Prefix = (channel: string): string => history2Key(channel, 0).replace(/0\.json$/, '');

export type Published2 = Published<Manifest2>;

const spec2 = (channel: string): SpecReader<Manifest2> => ({
  key: manifest2Key(channel),
  historyPrefix: history2Prefix(channel),
  floorKey: floorKey(2, channel),
  parse: parseManifest2,
});

/** A published spec-2 latest.json, with the spec-2 agents' checks (expiry aside: publish re-signs, drift reports). Pure. */
export function inspectManifest2(
  body: Buffer,
  channel: string,
  trusted: readonly PublicKeyInfo[],
): Pick<Published2, 'manifest' | 'problem' | 'signers' | 'latestSequence'> {
  return inspectManifest(body, channel, trusted, parseManifest2);
}

export function readPublished2(
  store: ObjectStore,
  channel: string,
  trusted: readonly PublicKeyInfo[],
  opts: ReadOptions = {},
): Promise<Published2> {
  return readPublished(store, channel, trusted, spec2(channel), opts);
}
