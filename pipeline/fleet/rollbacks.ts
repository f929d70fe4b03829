/**
 * One rule for counting the health gate's `rollback` events (guard and status): a Mac counts once
 * against N. A helper whose reinstall of P failed reports ROLLBACK_FAILED (id
 * `rollback-failed_<N>`), then keeps trying; once P is back it reports the rollback itself
 * (`rollback-<N>`), and so it does, from N to M with ROLLBACK_TAKEN_OVER, when an install of a newer
 * M asked for meanwhile took the due rollback over and landed: the Mac is off N either way, and N
 * failed its gate there, so that event counts as N's rollback (never as a failure). The failed
 * event counts, as the Mac stuck on N it stands for, only until the same device's other rollback
 * event about N arrives (at any time: it supersedes it).
 */
import type { HealthCode } from '../../schema/codes/index.js';

/** The code of a rollback attempt that failed (schema/codes/devices.ts). */
export const ROLLBACK_FAILED: HealthCode = 'ROLLBACK_FAILED';

/** A WHERE condition on `agent_update_events e`: false for a failed attempt that a later outcome superseded. */
export const NOT_SUPERSEDED = `NOT (e.kind = 'rollback' AND e.code IS NOT DISTINCT FROM '${ROLLBACK_FAILED}' AND EXISTS (
         SELECT 1 FROM agent_update_events o
          WHERE o.device = e.device AND o.kind = 'rollback' AND o.from_version = e.from_version
            AND o.code IS DISTINCT FROM '${ROLLBACK_FAILED}'))`;
