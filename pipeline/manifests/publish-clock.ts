/**
 * The publisher's clock against what was published before. A manifest carries the publisher's time
 * (published_at, expires_at, the sequence's floor): signed by a machine whose clock is a year
 * behind, it would be expired for every agent the moment it is written, and the self-check cannot
 * see it (it uses the same clock). So publish refuses, for both specs, when its clock is before
 * the newest published_at it knows (a usable latest.json, the sequence floor) by more than the
 * allowed skew. The object store's clock is the other reference (store-clock.ts), checked first.
 * Pure, but for reading the setting.
 */
import { ExternalError, SettingsError } from '../../schema/errors.js';
import { isoSeconds } from './build.js';

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
      (behindMs <= MAX_CLOCK_SKEW_SECONDS * 1000
        ? `If this clock is right, the last publish ran with a clock ahead: re-run with ${CLOCK_SKEW_SETTING} above the gap.`
        : `If this clock is right, the last publish ran with a clock more than a day ahead, which every agent refused ` +
          `(MANIFEST_FROM_FUTURE): an S3 target, whose own clock confirms this one, sets such a mark aside by itself; ` +
          `this target has no clock of its own, so move out of it the channel's latest.json (both specs), its sequence-floor/ ` +
          `objects and its history/ copies numbered above ${Math.floor(now.getTime() / 1000) + MAX_CLOCK_SKEW_SECONDS}, then re-run.`),
  );
}
