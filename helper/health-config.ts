/** The health gate's settings (health.ts): flags, config file keys, defaults and their checks. */
import { SettingsError } from '../schema/errors.js';

export interface HealthSettings {
  /** how long N has to send health_ok after its install (monotonic clock) */
  healthDeadlineMs: number;
  /** the window in which more than healthMaxRestarts agent starts mean a crash loop */
  healthStableMs: number;
  healthMaxRestarts: number;
  /** the waits before the 2nd, 3rd, … attempt of a failed rollback (the last repeats), each ±20 % */
  rollbackRetryMs: readonly number[];
  /**
   * the user the agent runs as (name or numeric uid): with root, the only client whose started,
   * health_ok and events_ack the health gate takes, so no other local user can commit N, count its
   * starts, or drop the gate's outcomes (server.ts)
   */
  agentUser: string;
}

export const HEALTH_OPTIONS = {
  'health-deadline': { type: 'string' },
  'health-stable': { type: 'string' },
  'health-max-restarts': { type: 'string' },
  'rollback-retry': { type: 'string' },
  'agent-user': { type: 'string' },
} as const;

export const HEALTH_FILE_KEYS = {
  health_deadline: 'number',
  health_stable: 'number',
  health_max_restarts: 'number',
  rollback_retry: 'string',
  agent_user: 'string',
} as const;

/**
 * An hourly agent that is pending checks at once, then hourly: four hours are four chances to
 * reach the CDN and the server before a rollback; six starts within an hour is a crash loop
 * (launchd restarts a crashing agent every 10 s). A failed rollback is tried again after 30 s (a
 * passing fault), 2 and 10 minutes, then every 30 minutes for as long as it fails: a Mac on a
 * version that failed its gate is not left there until a reboot, and a broken installer is not
 * run in a tight loop.
 */
export const HEALTH_DEFAULTS: HealthSettings = {
  healthDeadlineMs: 4 * 3600 * 1000,
  healthStableMs: 3600 * 1000,
  healthMaxRestarts: 5,
  rollbackRetryMs: [30_000, 120_000, 600_000, 1_800_000],
  agentUser: 'nobody', // the UserName of agent/launchd/com.mngd.agent.plist
};

/** At most this many steps in --rollback-retry (the last one repeats). */
const MAX_RETRY_STEPS = 8;

/** Each step of --rollback-retry lasts at least this long: a shorter one runs the installer in a tight loop. */
const MIN_RETRY_MS = 1000;

/**
 * The wait after failed attempt `attempt` (1, 2, …): its step of --rollback-retry (the last
 * repeating), spread by ±20 % (`random` in [0, 1)) so Macs that failed together do not retry together.
 */
export function retryWait(s: Pick<HealthSettings, 'rollbackRetryMs'>, attempt: number, random: () => number): number {
  const steps = s.rollbackRetryMs;
  return Math.round(steps[Math.min(attempt, steps.length) - 1]! * (0.8 + 0.4 * random()));
}

type Value = string | number | string[] | undefined;

function count(text: Value, what: string): number {
  const n = typeof text === 'number' ? text : Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000)
    throw new SettingsError(`${what} must be a whole number from 1 to 1000, got ${JSON.stringify(text)}`);
  return n;
}

/** "30,120,600,1800": the waits (seconds) before the 2nd, 3rd, … attempt of a failed rollback; the last repeats. */
function retrySchedule(text: Value, seconds: (text: string | number, what: string) => number): number[] {
  const what = '--rollback-retry';
  const parts = typeof text === 'string' ? text.split(',').map((s) => s.trim()) : [];
  if (parts.length === 0 || parts.length > MAX_RETRY_STEPS || parts.some((s) => s === ''))
    throw new SettingsError(
      `${what} must be 1 to ${MAX_RETRY_STEPS} waits in seconds separated by commas, the last repeating (e.g. 30,120,600,1800), got ${JSON.stringify(text)}`,
    );
  const ms = parts.map((s) => seconds(s, what));
  if (ms.some((m) => m < MIN_RETRY_MS))
    throw new SettingsError(
      `${what} must be waits of at least ${MIN_RETRY_MS / 1000} s each (a shorter one runs the installer in a tight loop), got ${JSON.stringify(text)}`,
    );
  for (let i = 1; i < ms.length; i++)
    if (ms[i]! < ms[i - 1]!)
      throw new SettingsError(`${what} must not shrink (a failing rollback backs off), got ${JSON.stringify(text)}`);
  return ms;
}

export function resolveHealth(
  pick: (flag: string, key: string) => Value,
  seconds: (text: string | number, what: string) => number,
): HealthSettings {
  const deadline = pick('health-deadline', 'health_deadline');
  const stable = pick('health-stable', 'health_stable');
  const max = pick('health-max-restarts', 'health_max_restarts');
  const retry = pick('rollback-retry', 'rollback_retry');
  const agentUser = pick('agent-user', 'agent_user');
  const d = HEALTH_DEFAULTS;
  return {
    healthDeadlineMs:
      deadline === undefined ? d.healthDeadlineMs : seconds(deadline as string | number, '--health-deadline'),
    healthStableMs: stable === undefined ? d.healthStableMs : seconds(stable as string | number, '--health-stable'),
    healthMaxRestarts: max === undefined ? d.healthMaxRestarts : count(max, '--health-max-restarts'),
    rollbackRetryMs: retry === undefined ? d.rollbackRetryMs : retrySchedule(retry, seconds),
    agentUser: typeof agentUser === 'string' ? agentUser : d.agentUser,
  };
}
