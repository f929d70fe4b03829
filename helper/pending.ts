/**
 * The health gate's pending record (`<state dir>/pending.json`, docs/helper.md "Health gate"): an
 * install of N over P not yet proven healthy, its rollback once decided, and the due rollback an
 * install took over. Read strictly (a record of any other shape is torn: kept.ts rebuilds it from
 * the kept packages); a field added later is optional, so a record an earlier helper wrote reads.
 */
import type { HealthCode } from '../schema/codes/index.js';
import { isVersion } from '../schema/version.js';

export const HEX64 = /^[0-9a-f]{64}$/;

/** Why P is put back: the event code the rollback is reported with. */
export type RollbackCause = Exclude<HealthCode, 'ROLLBACK_REFUSED' | 'ROLLBACK_FAILED' | 'ROLLBACK_TAKEN_OVER'>;

/** An install of `to` over `from` not yet proven healthy. */
export interface Pending {
  from: string;
  to: string;
  to_sha256: string;
  /** when the deadline falls, for people reading the file; never compared with the wall clock */
  deadline: string;
  /** the deadline as a duration: the helper times it on the monotonic clock from the install or its own start */
  deadline_s: number;
  /** the agent's starts (start pings) counted since the install */
  restarts: number;
  /** set durably before the rollback's installer runs: a helper killed meanwhile resumes it at start */
  rolling_back?: string;
  /** with rolling_back: why, as the rollback event's code */
  cause?: RollbackCause;
  /**
   * The due rollback (its record as it stood, `rolling_back` set, the same `from`) that this
   * install took over: written before the installer runs, so a helper killed before the install
   * ended knows at start that P must still be put back if `to` did not land. Absent in a record
   * written before this field existed (read as no takeover), and once the install landed.
   */
  took_over?: Pending;
}

export type PendingRead = { state: 'none' } | { state: 'ok'; pending: Pending } | { state: 'torn' };

export function isPending(x: unknown): x is Pending {
  const p = x as Pending;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.from === 'string' &&
    isVersion(p.from) &&
    typeof p.to === 'string' &&
    isVersion(p.to) &&
    typeof p.to_sha256 === 'string' &&
    HEX64.test(p.to_sha256) &&
    typeof p.deadline === 'string' &&
    Number.isSafeInteger(p.deadline_s) &&
    p.deadline_s > 0 &&
    Number.isSafeInteger(p.restarts) &&
    p.restarts >= 0 &&
    (p.rolling_back === undefined || typeof p.rolling_back === 'string') &&
    (p.cause === undefined || p.cause === 'HEALTH_DEADLINE' || p.cause === 'CRASH_LOOP') &&
    (p.took_over === undefined || isDueTakenOver(p.took_over, p))
  );
}

/** A took_over record: a due rollback to the same P, one level deep, under an install not itself rolling back. */
function isDueTakenOver(due: unknown, by: Pending): boolean {
  return (
    by.rolling_back === undefined &&
    isPending(due) &&
    due.rolling_back !== undefined &&
    due.took_over === undefined &&
    due.from === by.from
  );
}

/** The record of an install of `to` (its kept package's version and SHA-256) over `from`. */
export function pendingOf(
  from: string,
  to: { version: string; sha256: string },
  deadlineS: number,
  now: Date,
): Pending {
  return {
    from,
    to: to.version,
    to_sha256: to.sha256,
    deadline: new Date(now.getTime() + deadlineS * 1000).toISOString(),
    deadline_s: deadlineS,
    restarts: 0,
  };
}
