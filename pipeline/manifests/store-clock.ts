/**
 * The publisher's clock against the object store's. A manifest carries the publisher's time
 * (published_at, expires_at, its sequence): a year ahead, every agent refuses it
 * (MANIFEST_FROM_FUTURE) and its sequence would hold every later publish back; a year behind, it is
 * expired when written, also on a channel's first publish, when no published_at can tell. The
 * self-check cannot see either (it uses the same clock), so before anything is read or written
 * publish asks the store for its time (the Date header of an answer; a directory has none and
 * skips this) and refuses when the two are more than the allowed skew apart, either way
 * (CLOCK_AHEAD, CLOCK_BEHIND). A mark (sequence or published_at) more than a day past the store's
 * latest possible time and this clock was refused by every agent whose clock is right: publish
 * sets it aside (acceptableUntil), so one run with a clock a year ahead cannot freeze a channel.
 * The Date header is unsigned: lying, a store can refuse a publish or have such marks set aside
 * (docs/publishing.md). Pure, but for asking the store (storeClockLimit).
 */
import { ExternalError } from '../../schema/errors.js';
import { MAX_CLOCK_AHEAD_S } from '../../schema/manifest.js';
import { isoSeconds } from './build.js';
import { CLOCK_SKEW_SETTING, ClockBehindError, formatGap } from './publish-clock.js';
import type { ObjectStore, StoreTime } from './store/object-store.js';

/** This machine's clock is ahead of the object store's: exit 3, nothing written; set the clock right and re-run. */
export class ClockAheadError extends ExternalError<'CLOCK_AHEAD'> {
  override readonly namesItsFix = true;
  constructor(message: string) {
    super('CLOCK_AHEAD', message);
  }
}

/** The store's time at the moment publish started (Unix ms): somewhere from `earliestMs` to `latestMs`. */
export interface StoreWindow {
  earliestMs: number;
  latestMs: number;
}

/**
 * Where the store's clock stood when publish started (`startedMs`, on the same monotonic clock as
 * the answer's): the server wrote its Date (whole seconds, so the true time is up to 1 s later)
 * somewhere between sending and the answer, so the window widens by how long the request took
 * and moves back by how long after the start it was sent. Pure.
 */
export function storeWindow(time: StoreTime, startedMs: number): StoreWindow {
  const d = time.date.getTime();
  return { earliestMs: d - (time.answeredMs - startedMs), latestMs: d + 1000 - (time.sentMs - startedMs) };
}

/**
 * Throws ClockAheadError (or ClockBehindError) when `now`, read as publish started, is more than
 * `skewSeconds` past the latest (or before the earliest) time the store's clock can have said
 * then; returns that window otherwise.
 */
export function checkStoreClock(now: Date, time: StoreTime, startedMs: number, skewSeconds: number): StoreWindow {
  const w = storeWindow(time, startedMs);
  const aheadMs = now.getTime() - w.latestMs;
  const behindMs = w.earliestMs - now.getTime();
  const offMs = Math.max(aheadMs, behindMs);
  if (offMs <= skewSeconds * 1000) return w;
  const ahead = aheadMs > behindMs;
  const store =
    `the object store's clock (${isoSeconds(time.date)}: ${time.source}, "${time.header}", ` +
    `answered in ${Math.round(time.answeredMs - time.sentMs)} ms)`;
  const message =
    `this machine's clock says ${isoSeconds(now)}, ${formatGap(offMs)} ${ahead ? 'ahead of' : 'behind'} ${store}; ` +
    `at most ${skewSeconds} s either way is allowed (${CLOCK_SKEW_SETTING}). ` +
    (ahead
      ? 'Signed now, the manifest would carry a sequence and published_at from the future: every agent would refuse it (MANIFEST_FROM_FUTURE) and its sequence would hold back every later publish, '
      : 'Signed now, the manifest would carry times from the past and could already be expired for every agent, ') +
    `so nothing was written. Fix: set this machine's clock right (NTP; "date -u" shows it) and re-run. ` +
    `If this clock is right, the store's is not: set the clock of the store's server right.`;
  throw ahead ? new ClockAheadError(message) : new ClockBehindError(message);
}

/**
 * The highest mark (a sequence, or a published_at in Unix seconds) an agent whose clock is right
 * can ever have accepted: agents refuse one more than MAX_CLOCK_AHEAD_S past their clock
 * (schema/manifest.ts), and no right clock was ever past the store's latest possible time, nor
 * past `now` (which agrees with it within the skew: taking the later of the two, a store clock
 * that lies within the skew cannot have a mark set aside that this clock says is within a day). Pure.
 */
export function acceptableUntil(w: StoreWindow, now: Date): number {
  return Math.floor(Math.max(w.latestMs, now.getTime()) / 1000) + MAX_CLOCK_AHEAD_S;
}

/**
 * Asks the store for its time and holds `now` (read as this is called) against it: throws as
 * checkStoreClock does; returns the acceptableUntil of the marks, or null when the store has no
 * clock of its own (nothing is set aside then).
 */
export async function storeClockLimit(store: ObjectStore, now: Date, skewSeconds: number): Promise<number | null> {
  const startedMs = performance.now();
  const time = (await store.time?.()) ?? null;
  return time === null ? null : acceptableUntil(checkStoreClock(now, time, startedMs, skewSeconds), now);
}
