/** The package cool-down: three failures of one package (by sha256) and it rests for a day. */
import type { AgentState, StateStore } from './state.js';

export const COOLDOWN_FAILURES = 3;
export const COOLDOWN_MS = 24 * 60 * 60 * 1000;

/**
 * Failures that say nothing about the package: our own shutdown, the network, a helper that is
 * down or busy, a helper whose installer cannot be started (its --installer is wrong). They do
 * not count toward the cool-down: a helper down or misconfigured for 15 minutes must not put a
 * forced update (and with it the device's checkin) on hold for a day. Everything about the
 * package itself (wrong hash or size, an HTTP error status, the helper's refusal, an installer
 * that ran and failed) counts.
 */
export const NOT_ABOUT_THE_PACKAGE: ReadonlySet<string> = new Set([
  'HTTP_ABORTED',
  'HTTP_NETWORK',
  'HTTP_TIMEOUT',
  'HTTP_DEADLINE',
  'HELPER_UNREACHABLE',
  'HELPER_TIMEOUT',
  'BUSY',
  'INSTALLER_UNAVAILABLE',
  'PKG_SIGNATURE_CHECK_TIMEOUT',
  'SIGNATURE_CHECK_UNAVAILABLE',
]);

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
