/**
 * What a restart interrupted, decided once the installer an earlier (killed) helper started has
 * ended (docs/helper.md, "Committing N or rolling back to P"): the install that took a due rollback
 * over (takeover.ts) or the rollback's own reinstall of P (health.ts). That installer runs on,
 * detached, under the install marker (install-marker.ts), so nothing is decided, and nothing
 * installed, beside it: while it runs this is said once and looked at again after each first wait
 * of --rollback-retry; once it has ended, the version installed then decides.
 */
import { messageOf } from '../schema/errors.js';
import type { Logger } from './log.js';
import type { RollbackRetry } from './rollback-retry.js';

export interface EarlierInstallerDeps {
  log: Logger;
  retry: RollbackRetry;
  installedVersion: () => Promise<string | null>;
  /** an installer an earlier (killed) helper started, while it still runs: what it is; null once it has ended */
  earlierInstaller?: () => Promise<string | null>;
  /** runs `fn` alone, as installs run (the accepted store's exclusive section): a second look never writes beside an install */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * `decide(installed)` once no installer of an earlier helper runs, with the version installed
 * after it ended; nothing is decided once `mine()` is false (an install took the record meanwhile).
 * `what` names the thing decided in the log line said while waiting.
 */
export async function onceEarlierInstallerEnded(
  d: EarlierInstallerDeps,
  what: string,
  mine: () => boolean,
  decide: (installed: string | null) => Promise<void> | void,
  said = false,
): Promise<void> {
  const running = (await d.earlierInstaller?.()) ?? null;
  // Read once it has ended: it may have changed the installed version up to its last moment.
  const installed = running === null ? await d.installedVersion() : null;
  if (!mine()) return;
  if (running !== null) {
    if (!said) d.log.warn(`SelfUpdate: helper decides ${what} once that installer has ended: ${running}`);
    // Serialised with installs: one that takes the record meanwhile is seen (mine()), never overwritten.
    const look = () => onceEarlierInstallerEnded(d, what, mine, decide, true);
    const again = () => (d.exclusive !== undefined ? d.exclusive(look) : look());
    d.retry.recheck(() => void again().catch((err: unknown) => d.log.error(`SelfUpdate: ${messageOf(err)}`)));
    return;
  }
  await decide(installed);
}
