/**
 * The publisher's clock, held against two others. A manifest carries the publisher's time
 * (published_at, expires_at, its sequence): signed by a machine whose clock is a year behind, it
 * is expired for every agent the moment it is written; a year ahead, every agent refuses it
 * (MANIFEST_FROM_FUTURE) and its sequence would hold every later publish back. The self-check
 * cannot see either (it uses the same clock). So publish refuses (nothing written):
 * - when its clock and the object store's (the Date header of the store's answer) are more than
 *   the allowed skew apart, either way (CLOCK_AHEAD, CLOCK_BEHIND); a store without a clock of
 *   its own (a directory) skips this;
 * - when its clock is before the newest published_at it knows (a usable latest.json, the
 *   sequence floor) by more than the allowed skew (CLOCK_BEHIND).
 * A mark (sequence or published_at) more than a day past the store's latest possible time was
 * refused by every agent whose clock is right: publish sets it aside (acceptableUntil), so one
 * run with a clock a year ahead does not freeze the channel. Pure, but for reading the setting.
 */
import { ExternalError, SettingsError } from '../../schema/errors.js';
import { MAX_CLOCK_AHEAD_S } from '../../schema/manifest.js';
import { isoSeconds } from './build.js';
import type { StoreTime } from './store/object-store.js';

export const CLOCK_SKEW_SETTING = 'MNGD_CLOCK_SKEW_SECONDS';
/** How far behind the last publish, or from the store's clock, a clock may be (runners' clocks differ by a little): 5 minutes. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;
/** Agents refuse a manifest more than a day ahead of their clock: a larger skew would hide nothing useful. */
const MAX_CLOCK_SKEW_SECONDS = 86_400;

/** The allowed skew from the environment: whole seconds, 0 to 86400. */
export function clockSkewSeconds(env: Record<string, string | undefined>): number {
  const text = env[CLOCK_SKEW_SETTING];
  if (text === undefined || text === '') return DEFAULT_CLOCK_SKEW_SECONDS;
  if (!/^\d{1,5}$/.test(text) || Number(text) > MAX_CLOCK_SKEW_SECONDS)
    throw new SettingsError(
      `${CLOCK_SKEW_SETTING}=${text} is not a skew: write whole seconds from 0 to ${MAX_CLOCK_SKEW_SECONDS}, e.g. ${CLOCK_SKEW_SETTING}=${DEFAULT_CLOCK_SKEW_SECONDS}`,
    );
  return Number(text);
}

/** "365 days", "2 h 5 min", "40 s": how far apart two times are, for a person. */
export function formatGap(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s >= 2 * 86_400) return `${Math.round(s / 86_400)} days`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** This machine's clock is behind the last publish: exit 3, nothing written; set the clock right and re-run. */
export class ClockBehindError extends ExternalError<'CLOCK_BEHIND'> {
  // A re-run on the same clock fails the same way: the message says to set the clock.
  override readonly namesItsFix = true;
  constructor(message: string) {
    super('CLOCK_BEHIND', message);
  }
}

/**
 * Throws ClockBehindError when `now` is before `last.at` by more than `skewSeconds`. `what` names
 * the manifest ("the stable manifest"); `last.from` the object the time was read from.
 */
export function checkClock(
  now: Date,
  last: { at: string; from: string } | null,
  skewSeconds: number,
  what: string,
): void {
  if (last === null) return;
  const behindMs = Date.parse(last.at) - now.getTime();
  if (behindMs <= skewSeconds * 1000) return;
  throw new ClockBehindError(
    `this machine's clock says ${isoSeconds(now)}, ${formatGap(behindMs)} before ${what} was last published ` +
      `(published_at ${last.at}, read from ${last.from}); at most ${skewSeconds} s behind is allowed ` +
      `(${CLOCK_SKEW_SETTING}). Signed now, the manifest would carry times from the past and could already be expired ` +
      `for every agent, so nothing was written. Fix: set this machine's clock right (NTP; "date -u" shows it) and re-run. ` +
      `If this clock is right, the last publish ran with a clock ahead: re-run with ${CLOCK_SKEW_SETTING} above the gap.`,
  );
}

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
 * (schema/manifest.ts), and no right clock was ever past the store's latest possible time. Pure.
 */
export function acceptableUntil(w: StoreWindow): number {
  return Math.floor(w.latestMs / 1000) + MAX_CLOCK_AHEAD_S;
}
