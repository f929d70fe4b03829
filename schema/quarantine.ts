/**
 * A version the helper rolled back on this Mac (the health gate, docs/helper.md) is never offered
 * to it again; a newer one is. One rule for both specs: the agent and the helper take the
 * quarantined versions out of a verified manifest's releases before `choose` or `choose2` sees them.
 */
import { compareVersions } from './version.js';

export function isQuarantined(version: string, quarantined: readonly string[]): boolean {
  return quarantined.some((q) => compareVersions(q, version) === 0);
}

export function withoutQuarantined<R extends { version: string }>(
  releases: readonly R[],
  quarantined: readonly string[],
): R[] {
  return releases.filter((r) => !isQuarantined(r.version, quarantined));
}
