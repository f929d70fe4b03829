/**
 * A time-out setting from the environment (MNGD_DB_*_TIMEOUT_MS, MNGD_SYNC_LOCK_WAIT_MS,
 * MNGD_S3_*_MS): whole milliseconds from 100 to 999 999 999, digits only, no leading zero, so
 * `099` (99 ms) and `0100` are refused rather than read as something the rule does not promise.
 * Anything else is a setting to fix (SettingsError, exit 2) naming it and a value that works.
 */
import { SettingsError } from '../schema/errors.js';

export const MIN_TIMEOUT_MS = 100;

/** `text` is the setting's value, already known to be set; `example` is shown as a value that works. */
export function parseMsSetting(name: string, text: string, example: number): number {
  if (!/^[1-9]\d{2,8}$/.test(text))
    throw new SettingsError(
      `${name}=${text} is not a time-out: write whole milliseconds from ${MIN_TIMEOUT_MS} up, e.g. ${name}=${example}`,
    );
  return Number(text);
}
