/** The health gate's settings (health.ts): flags, config file keys, defaults and their checks. */
import { SettingsError } from '../schema/errors.js';
import type { HealthSettings } from './health.js';

export const HEALTH_OPTIONS = {
  'health-deadline': { type: 'string' },
  'health-stable': { type: 'string' },
  'health-max-restarts': { type: 'string' },
} as const;

export const HEALTH_FILE_KEYS = {
  health_deadline: 'number',
  health_stable: 'number',
  health_max_restarts: 'number',
} as const;

/**
 * An hourly agent that is pending checks at once, then hourly: four hours are four chances to
 * reach the CDN and the server before a rollback; six starts within an hour is a crash loop
 * (launchd restarts a crashing agent every 10 s).
 */
export const HEALTH_DEFAULTS: HealthSettings = {
  healthDeadlineMs: 4 * 3600 * 1000,
  healthStableMs: 3600 * 1000,
  healthMaxRestarts: 5,
};

type Value = string | number | string[] | undefined;

function count(text: Value, what: string): number {
  const n = typeof text === 'number' ? text : Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000)
    throw new SettingsError(`${what} must be a whole number from 1 to 1000, got ${JSON.stringify(text)}`);
  return n;
}

export function resolveHealth(
  pick: (flag: string, key: string) => Value,
  seconds: (text: string | number, what: string) => number,
): HealthSettings {
  const deadline = pick('health-deadline', 'health_deadline');
  const stable = pick('health-stable', 'health_stable');
  const max = pick('health-max-restarts', 'health_max_restarts');
  const d = HEALTH_DEFAULTS;
  return {
    healthDeadlineMs:
      deadline === undefined ? d.healthDeadlineMs : seconds(deadline as string | number, '--health-deadline'),
    healthStableMs: stable === undefined ? d.healthStableMs : seconds(stable as string | number, '--health-stable'),
    healthMaxRestarts: max === undefined ? d.healthMaxRestarts : count(max, '--health-max-restarts'),
  };
}
