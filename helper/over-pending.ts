/**
 * N committed (docs/helper.md, "Committing N or rolling back to P"): by its agent's health_ok, or
 * by an install asked for over it. An install over a pending N from the agent (its proven uid, --agent-user, or root: agent-only.ts) it is N's proof of health,
 * for N's updater works, so N is committed (a `health` event for the fleet) and becomes the version
 * the new install rolls back to. From any other local user it proves nothing of N: no `health`
 * event, and N's P stays the version to go back to (N's record again if that install fails).
 */
import type { Pending } from './kept.js';
import type { HealthReply } from './protocol.js';
import { healthOutcome } from './outbox.js';
import type { TakeoverDeps } from './takeover.js';

/** `n`: the pending record of the installed N (null: none); returns it when N proved nothing (its P stays), else null. */
export async function installOverPending(
  d: TakeoverDeps,
  n: Pending | null,
  version: string,
  byAgent: boolean,
  ms: number,
): Promise<Pending | null> {
  if (n === null) return null;
  if (!byAgent) {
    d.log.warn(
      `SelfUpdate: the install of ${version} over the pending ${n.to} is not the agent's (--agent-user): ${n.to} proved nothing, ${n.from} stays the version to roll back to`,
    );
    return n;
  }
  d.log.info(`SelfUpdate: health ok ${n.to} (it asked for ${version}: its updater works)`);
  await d.outbox.record(healthOutcome(n, ms, d.now()));
  return null;
}

/** N (`p.to`) committed by its agent's health_ok, `ms` after its deadline was armed: the record goes, only N stays kept. */
export async function committed(d: TakeoverDeps, p: Pending, ms: number): Promise<void> {
  await d.kept.clearPending();
  await d.kept.keepOnly([p.to]);
  d.log.info(`SelfUpdate: health ok ${p.to}`);
  await d.outbox.record(healthOutcome(p, ms, d.now()));
}

/** The reply to the agent's started or health_ok (`req`): whether its version is still `pending`, the quarantined versions, the outcomes waiting. */
export async function gateReply(
  d: TakeoverDeps,
  req: { id: string; type: HealthReply['outcome'] },
  pending: boolean,
): Promise<HealthReply> {
  const [quarantined, events] = [await d.kept.quarantined(), await d.outbox.pending()];
  return { v: 1, id: req.id, ok: true, outcome: req.type, pending, quarantined, events };
}
