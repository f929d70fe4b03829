/** The package cool-down: three failures of one package (by sha256) and it rests for a day. */
import type { AgentState, StateStore } from './state.js';

export const COOLDOWN_FAILURES = 3;
export const COOLDOWN_MS = 24 * 60 * 60 * 1000;

/**
 * Failures that say nothing about the package: our own shutdown, the network, a helper that is
 * down or busy, a helper whose installer cannot be started (its --installer is wrong) or that
 * failed inside (its own bug or disk), and this Mac's disk (full, or failing to write). They do not count toward the
 * cool-down: a CDN outage or a helper down or misconfigured for 15 minutes must not put a forced
 * update (and with it the device's checkin) on hold for a day. Everything about the package
 * itself (wrong hash or size, a 404 or 403, the helper's refusal, an installer that ran and
 * failed) counts.
 */
export const NOT_ABOUT_THE_PACKAGE: ReadonlySet<string> = new Set([
  'HTTP_ABORTED',
  'HTTP_NETWORK',
  'HTTP_TIMEOUT',
  'HTTP_DEADLINE',
  'HELPER_UNREACHABLE',
  'HELPER_TIMEOUT',
  'BUSY',
  // the helper did not take this client's uid as proven: the pairing of agent and helper, not the package
  'PEER_UNPROVEN',
  'INSTALLER_UNAVAILABLE',
  'PKG_SIGNATURE_CHECK_TIMEOUT',
  'SIGNATURE_CHECK_UNAVAILABLE',
  'INTERNAL',
  'DISK_FULL',
  'DOWNLOAD_IO',
]);

/** HTTP statuses that say the server is down or overloaded, not that the package is wrong. */
function serverTrouble(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}

/** Whether a failure (its code, and the HTTP status for HTTP_STATUS) counts toward the cool-down. */
export function countsTowardCooldown(code: string, status?: number): boolean {
  if (NOT_ABOUT_THE_PACKAGE.has(code)) return false;
  return !(code === 'HTTP_STATUS' && serverTrouble(status));
}

export async function recordFailure(
  store: StateStore,
  state: AgentState,
  target: { version: string; sha256: string },
  now: Date,
): Promise<{ failures: number; until: string | null }> {
  const prev = state.cooldowns[target.sha256];
  const failures = (prev?.failures ?? 0) + 1;
  const until = failures >= COOLDOWN_FAILURES ? new Date(now.getTime() + COOLDOWN_MS).toISOString() : null;
  state.cooldowns[target.sha256] = { version: target.version, failures, until };
  await store.write(state);
  return { failures, until };
}
