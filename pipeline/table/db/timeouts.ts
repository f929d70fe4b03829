/**
 * Deadlines for every PostgreSQL call, so a stalled or black-holed link becomes exit 3 within a
 * known bound instead of a job that hangs holding the sync lock (fault-injection finding, #22).
 *
 *   connect      MNGD_DB_CONNECT_TIMEOUT_MS   10 s   TCP + TLS + startup
 *   query        MNGD_DB_QUERY_TIMEOUT_MS     60 s   client side (a link that stops answering) and
 *                                                    server side (statement_timeout)
 *   idle in tx   the same                     60 s   the server ends a session that stalls inside
 *                                                    a transaction, releasing its advisory lock
 *   sync lock    MNGD_SYNC_LOCK_WAIT_MS        5 min waiting for another sync or apply
 */
import { parseMsSetting } from '../../ms-setting.js';

export interface DbTimeouts {
  connectMs: number;
  queryMs: number;
  lockWaitMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = { connectMs: 10_000, queryMs: 60_000, lockWaitMs: 300_000 };

const SETTINGS: [keyof DbTimeouts, string][] = [
  ['connectMs', 'MNGD_DB_CONNECT_TIMEOUT_MS'],
  ['queryMs', 'MNGD_DB_QUERY_TIMEOUT_MS'],
  ['lockWaitMs', 'MNGD_SYNC_LOCK_WAIT_MS'],
];

/** The time-outs from the environment, each a whole number of milliseconds ≥ 100 (parseMsSetting). */
export function dbTimeouts(env: Record<string, string | undefined>): DbTimeouts {
  const out = { ...DEFAULT_DB_TIMEOUTS };
  for (const [field, name] of SETTINGS) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    out[field] = parseMsSetting(name, text, out[field]);
  }
  return out;
}

/** "60 s", "500 ms": how a bound reads in a message. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
