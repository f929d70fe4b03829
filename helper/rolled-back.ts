/**
 * How a rollback of N to P ends (docs/helper.md, "Committing N or rolling back to P"): P installed
 * again (completed: by this helper's reinstall, or by an earlier helper's that a restart
 * interrupted), or refused before anything is installed. Each is recorded for the fleet
 * (outbox.ts) before the pending record goes: a crash between the two records it again (the same
 * id), never not at all.
 */
import type { KeptStore, Pending } from './kept.js';
import type { Logger } from './log.js';
import { rollbackOutcome, type Outbox } from './outbox.js';

export interface RolledBackDeps {
  kept: KeptStore;
  outbox: Outbox;
  log: Logger;
  now: () => Date;
}

/** P is installed again. `ms`: from the decision to P installed (null: a restart interrupted it, the clock did not survive). */
export async function completed(d: RolledBackDeps, p: Pending, ms: number | null): Promise<void> {
  await d.kept.quarantine(p.to);
  await d.outbox.record(rollbackOutcome(p, 'ok', p.cause ?? 'HEALTH_DEADLINE', ms, d.now()));
  await d.kept.clearPending();
  await d.kept.keepOnly([p.from]);
  d.log.warn(`SelfUpdate: rollback complete: ${p.from} installed again; ${p.to} is quarantined on this Mac`);
}

/** Nothing installed: P cannot be put back (`why`), so N stays. */
export async function refused(d: RolledBackDeps, p: Pending, reason: string, why: string): Promise<void> {
  await d.kept.clearPending();
  d.log.error(
    `SelfUpdate: rollback ${p.to} -> ${p.from} (${reason}) refused: ${why}; nothing installed, ${p.to} stays`,
  );
  await d.outbox.record(rollbackOutcome(p, 'error', 'ROLLBACK_REFUSED', null, d.now()));
}
