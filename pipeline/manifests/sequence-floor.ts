/**
 * The sequence floor of one channel and spec: the highest sequence its manifest ever took and that
 * manifest's published_at, in an object of its own beside latest.json and history/
 * (`sequence-floor/<channel>.json`, spec 2 `sequence-floor/v2/<channel>.json`). Publish writes it
 * before the history copy, so losing latest.json and history/ both never lets a sequence repeat
 * (agents would refuse it: MANIFEST_SEQUENCE_REUSED or MANIFEST_ROLLBACK). It lives in the target
 * because publish runs without a database (the break-glass halt), and not in object versions
 * because a directory target has none. Unsigned: it can only ever raise the next sequence, but
 * for a floor more than a day past the object store's clock, which no agent accepted and publish
 * sets aside (read.ts, store-clock.ts), and the history copies numbered above a floor that stands,
 * which were set aside with an earlier floor (read.ts historyLimit).
 */

export const SEQUENCE_FLOOR_TYPE = 'mngd-sequence-floor';

export type SpecNumber = 1 | 2;

export interface SequenceFloor {
  sequence: number;
  /** the published_at of the manifest that took `sequence` */
  published_at: string;
}

export function floorKey(spec: SpecNumber, channel: string): string {
  return spec === 1 ? `sequence-floor/${channel}.json` : `sequence-floor/v2/${channel}.json`;
}

/** What a floor object says; null when it says nothing usable (damaged: it is rewritten on the next publish). Pure. */
export function parseFloor(body: Buffer): SequenceFloor | null {
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const { sequence, published_at: at } = (data ?? {}) as { sequence?: unknown; published_at?: unknown };
  if (!Number.isSafeInteger(sequence) || (sequence as number) < 0) return null;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return null;
  return { sequence: sequence as number, published_at: at };
}

export function floorBytes(spec: SpecNumber, channel: string, floor: SequenceFloor): Buffer {
  const body = { type: SEQUENCE_FLOOR_TYPE, spec, channel, ...floor };
  return Buffer.from(`${JSON.stringify(body, null, 2)}\n`, 'utf8');
}
