/**
 * The words the check line uses whatever the spec (agent/decide.ts, agent/decide2.ts): the
 * device's bucket for the release a line talks about, and what a Mac on a version the manifest
 * no longer lists is told.
 */
import { bucket } from '../schema/choose.js';
import { compareVersions } from '../schema/version.js';

/**
 * `bucket 42.17`: where this device falls for `version` in [0, 100), so a reader can tell how far
 * the share must rise for it (in cohort while the share is above it). Truncated, never rounded up:
 * a bucket of 9.996 reads 9.99, below a share of 10, as it is.
 */
export function bucketText(deviceId: string, version: string): string {
  return `bucket ${(Math.floor(bucket(deviceId, version) * 100) / 100).toFixed(2)}`;
}

/**
 * Nothing newer is offered. A device whose own version the manifest does not list (a yank, a
 * halt, a removed release) is told so rather than "up to date": it stays, agents never downgrade.
 */
export function nothingNewer(versions: readonly string[], current: string): string {
  const newest = `offers nothing newer (newest ${versions[0] ?? 'none'})`;
  if (versions.some((v) => compareVersions(v, current) === 0)) return `${newest} -> up to date`;
  return `${newest}; ${current} is not offered (yanked?); no downgrade -> staying on ${current}`;
}
