/**
 * The health gate's messages are the agent's alone (docs/helper.md, "Committing N or rolling back
 * to P"): from another local user that reaches the socket, health_ok would commit an N that never
 * proved healthy (no rollback), started would count toward a crash loop (a rollback of a healthy
 * N), and events_ack would drop the outcomes (a rollback) before they reach the fleet. An install
 * asked for over a pending N is N's proof of health (its updater works) only when it is the agent's.
 */
import type { Peer } from './peer-limits.js';
import { HelperError, type GateRequest } from './protocol.js';

/** What a gate message refused to another uid than the agent's did not do (its reply says so). */
const NOTHING_DONE: Record<GateRequest['type'], string> = {
  started: 'no start counted',
  health_ok: 'nothing committed',
  events_ack: 'nothing dropped',
};

/**
 * Is `peer` the agent (its proven uid, --agent-user) or root? The one rule for the gate's word from
 * the agent: its messages, and an install over a pending N counted as N's proof of health (health.ts).
 */
export function isAgent(peer: Peer, agentUid: number): boolean {
  return peer === 0 || peer === agentUid;
}

/** Throws PEER_UNPROVEN unless `peer` is root or the agent's proven uid (--agent-user); decided before the gate is touched. */
export function refuseUnlessAgent(type: GateRequest['type'], peer: Peer, agentUid: number): void {
  if (isAgent(peer, agentUid)) return;
  const none = NOTHING_DONE[type];
  throw new HelperError(
    'PEER_UNPROVEN',
    peer === null
      ? `${type} needs the proof of the agent's uid ${agentUid} (--agent-user; "prove" first on the same connection): ${none}`
      : `${type} is the agent's: uid ${peer} is not the agent's uid ${agentUid} (--agent-user): ${none}`,
  );
}
