/**
 * The checkin loop of `mngd-agent run`: wait a random first delay (so a fleet rebooting together
 * does not stampede the CDN), then forever: one self-update check, then the server checkin,
 * then sleep about an hour. A verified floor above the running version blocks the checkin and
 * shortens the sleep to a few minutes until the update is done. After an install the loop ends
 * so the process exits and launchd starts the new binary.
 */
import { messageOf } from '../schema/errors.js';
import type { CheckResult } from './check.js';
import type { Logger } from './log.js';

export interface LoopTiming {
  intervalMs: number;
  firstDelayMaxMs: number;
  floorRetryMs: number;
  /**
   * How long the loop waits for one check before the checkin goes on anyway (default 15 min):
   * a hung check never holds the checkin. The check is not started again while it still runs.
   */
  checkLimitMs?: number;
}

export const CHECK_LIMIT_MS = 15 * 60 * 1000;

export interface LoopDeps {
  check(): Promise<CheckResult>;
  /** the server checkin; null when none is configured */
  checkin: (() => Promise<void>) | null;
  timing: LoopTiming;
  log: Logger;
  /** resolves after ms, or early (without error) when `signal` aborts */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** stops the loop (SIGTERM) */
  signal?: AbortSignal;
  /**
   * The version installed on disk now, when it differs from the one this process runs (another
   * user's agent installed an update: this binary is stale); null otherwise.
   */
  installedSinceStart?: () => Promise<string | null>;
  /**
   * The health gate (docs/helper.md): the start ping to the helper; resolves true when this
   * version is pending (check at once, then send health_ok). Never throws.
   */
  started?: () => Promise<boolean>;
  /** tells the helper this version verified a manifest and checked in; resolves true when the helper took it */
  healthOk?: () => Promise<boolean>;
  /**
   * Called before each sleep between rounds (the bin: a full GC, agent/gc.ts): what a round left
   * is given back before the agent sleeps about an hour. Must not throw.
   */
  beforeSleep?: () => void;
}

export type LoopEnd = 'updated' | 'stopped';

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `base` scaled by a random factor in [1 - spread, 1 + spread). */
export function jittered(base: number, spread: number, random: () => number): number {
  return Math.max(0, Math.round(base * (1 - spread + 2 * spread * random())));
}

/** The check's result, or 'running' when it has not ended within `ms`. */
async function withinLimit<T>(p: Promise<T>, ms: number): Promise<T | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runLoop(d: LoopDeps): Promise<LoopEnd> {
  const sleep = d.sleep ?? abortableSleep;
  const random = d.random ?? Math.random;
  const stopped = () => d.signal?.aborted === true;
  // A version on probation checks at once: the helper rolls it back unless it proves healthy.
  let pending = (await d.started?.()) ?? false;
  const first = pending ? 0 : Math.round(d.timing.firstDelayMaxMs * random());
  d.log.info(
    `SelfUpdate: agent started${pending ? ' (pending: the helper waits for health_ok)' : ''}; first check in ${(first / 1000).toFixed(1)} s, then every ${d.timing.intervalMs / 1000} s (±10%)`,
  );
  await sleep(first, d.signal);
  const limit = d.timing.checkLimitMs ?? CHECK_LIMIT_MS;
  // A check still running from an earlier round (past the limit): waited for again, never doubled.
  let running: Promise<CheckResult | null> | null = null;
  while (!stopped()) {
    // A stale binary must not try to install what is already there (NOT_AN_UPGRADE forever, or
    // a blocked checkin below a floor): exit, and launchd starts what is installed.
    const installed = await d.installedSinceStart?.().catch(() => null);
    if (installed) {
      d.log.info(`SelfUpdate: ${installed} was installed while this agent ran; exiting so launchd starts it`);
      return 'updated';
    }
    const again = running !== null;
    running ??= d.check().catch((err: unknown) => {
      // A bug or a broken state folder must not stop checkins: log, and carry on.
      d.log.error(`SelfUpdate: check crashed: ${messageOf(err)}; checkin not blocked, retrying next interval`);
      return null;
    });
    const result = await withinLimit(running, limit);
    if (result === 'running') {
      d.log.warn(
        `SelfUpdate: check ${again ? 'still ' : ''}running after ${(limit / 1000).toFixed(0)} s${again ? ' more' : ''}; checkin not blocked, the check goes on and is not started again until it ends`,
      );
    } else running = null;
    if (result !== 'running' && result?.outcome === 'updated') {
      d.log.info(`SelfUpdate: exiting so launchd starts ${result.target ?? 'the new version'}`);
      return 'updated';
    }
    if (stopped()) break;
    let wait: number;
    if (result !== 'running' && result?.blocked) {
      wait = jittered(d.timing.floorRetryMs, 0.5, random);
      d.log.warn(
        `SelfUpdate: checkin blocked: current ${result.current} is below the required ${result.floor ?? '?'}; retrying the update in ${(wait / 1000).toFixed(1)} s`,
      );
    } else {
      let checkedIn = true;
      if (d.checkin !== null) {
        try {
          await d.checkin();
        } catch (err) {
          checkedIn = false;
          d.log.warn(`Checkin: failed: ${messageOf(err)}; retrying next interval`);
        }
      }
      // Healthy: one verified manifest and one successful checkin (none configured: the manifest).
      const verified = result !== null && result !== 'running' && result.manifest !== null;
      if (pending && checkedIn && verified && d.healthOk !== undefined) pending = !(await d.healthOk());
      wait = jittered(d.timing.intervalMs, 0.1, random);
    }
    d.beforeSleep?.();
    await sleep(wait, d.signal);
  }
  d.log.info('SelfUpdate: agent stopping (signal)');
  return 'stopped';
}
