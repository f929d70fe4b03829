/**
 * An install that takes a due rollback over (docs/helper.md, "Committing N or rolling back to P"):
 * N failed its gate, its rollback to P is due (waiting for its next attempt), and an install of a
 * newer M is asked for. M's pending record keeps P as its `from` and, in `took_over`, the due
 * rollback as it stood, written durably before M's installer runs. Then:
 * - M lands: N is off this Mac. N's outcome is recorded (`rollback-<N>`, ROLLBACK_TAKEN_OVER,
 *   superseding its ROLLBACK_FAILED for the fleet), and the record becomes M's ordinary pending one.
 * - M does not land: N is still installed, so its rollback is due again (health.ts).
 * - The helper is killed before M's installer ended: the next start decides it from the installed
 *   version, once that installer (detached, it runs on) has ended: never a rollback beside it.
 */
import { messageOf } from '../schema/errors.js';
import { onceEarlierInstallerEnded, type EarlierInstallerDeps } from './earlier-installer.js';
import type { KeptStore, Pending } from './kept.js';
import { HelperError } from './protocol.js';
import type { Logger } from './log.js';
import { takenOverOutcome, type Outbox } from './outbox.js';
import { completed } from './rolled-back.js';
import type { RollbackRetry } from './rollback-retry.js';

export interface TakeoverDeps extends EarlierInstallerDeps {
  kept: KeptStore;
  outbox: Outbox;
  retry: RollbackRetry;
  log: Logger;
  now: () => Date;
}

/** The pending record of an install, saying which due rollback (if any) it took over. */
export function takingOver(pending: Pending, due: Pending | null): Pending {
  return due === null ? pending : { ...pending, took_over: due };
}

/**
 * The install of `version` that took `due` over landed: its outcome is recorded before the record
 * (`pending`, null when no rollback is kept for it) becomes an ordinary one without `took_over`
 * (a crash between the two records it again: the same id). Returns that record.
 */
export async function landed(
  d: TakeoverDeps,
  due: Pending,
  version: string,
  pending: Pending | null,
): Promise<Pending | null> {
  await d.outbox.record(takenOverOutcome(due, version, d.retry.elapsedFor(due.to), d.now()));
  d.log.info(
    `SelfUpdate: ${due.to} is no longer installed: the install of ${version} took its rollback to ${due.from} over`,
  );
  if (pending === null) return null;
  const { took_over: _, ...plain } = pending;
  await d.kept
    .writePending(plain)
    .catch((err: unknown) =>
      d.log.warn(`SelfUpdate: helper could not rewrite ${d.kept.pendingFile}: ${messageOf(err)}; rewritten at start`),
    );
  return plain;
}

/** A takeover record whose installer has ended: M landed (its ordinary record), or N's rollback due again (durably). */
export async function settle(d: TakeoverDeps, p: Pending, installed: string | null): Promise<Pending> {
  const due = p.took_over!;
  if (installed === p.to) return (await landed(d, due, p.to, p))!;
  await d.kept.writePending(due);
  return due;
}

/**
 * At an install, the record a restart interrupted, once the earlier helper's installer has ended
 * (install.ts checked): a takeover decided (settle), a rollback whose installer put P back
 * completed (null: nothing pending, P is what the install goes over); any other record as it is.
 */
export async function settleAtInstall(d: TakeoverDeps, p: Pending | null, installed: string | null) {
  if (p?.took_over !== undefined) return settle(d, p, installed);
  if (p?.rolling_back === undefined || installed !== p.from) return p;
  await completed(d, p, null);
  return null;
}

/** The due rollback in a record settleAtInstall could not decide: the record's own, or the one its install took over (none once that install landed). */
function dueIn(p: Pending, installed: string | null): Pending | null {
  if (p.took_over === undefined) return p.rolling_back !== undefined ? p : null;
  return installed !== p.to ? p.took_over : null;
}

/**
 * settleAtInstall failed on `p` (a write: a full disk). Its due rollback (if any) stays due: the
 * gate's record again (returned), written back durably where the write now goes through, and
 * tried again after the wait (`again`); the install of `version` is refused rather than run over
 * it (the error returned).
 */
export async function unsettled(
  d: TakeoverDeps,
  p: Pending,
  installed: string | null,
  version: string,
  err: unknown,
  again: (due: Pending) => void,
): Promise<[Pending, HelperError]> {
  const due = dueIn(p, installed);
  const why = `the helper could not decide its record ${p.from} -> ${p.to} in ${d.kept.pendingFile} at the install of ${version}: ${messageOf(err)}`;
  if (due !== null)
    await d.retry.resume(
      due,
      why,
      () => d.kept.writePending(due),
      () => again(due),
    );
  else d.log.error(`SelfUpdate: ${why}`);
  const stays = due !== null ? `, the rollback ${due.to} -> ${due.from} stays due` : '';
  const fix = `free space in (or repair) the folder of ${d.kept.pendingFile}, then retry`;
  return [due ?? p, new HelperError('INTERNAL', `${why}; nothing installed${stays}: ${fix}`)];
}

/**
 * At start, a record whose install took N's due rollback over (the helper was killed before that
 * install ended): decided by settle() once no installer of the earlier helper runs
 * (earlier-installer.ts), at once when M is installed (its agent may already run). `decided` gets
 * the outcome; nothing is decided once `mine()` is false (an install took the record meanwhile).
 */
export async function resumeTakeover(
  d: TakeoverDeps,
  p: Pending,
  installed: string | null,
  mine: () => boolean,
  decided: (q: Pending) => void,
): Promise<void> {
  const over = `the rollback ${p.took_over!.to} -> ${p.from} that the install of ${p.to} took over`;
  const decide = async (now: string | null) => {
    const q = await settle(d, p, now);
    if (q.rolling_back !== undefined)
      d.log.warn(`SelfUpdate: helper resumes ${over}: it did not complete (${now ?? 'no version'} is installed)`);
    decided(q);
  };
  if (installed === p.to) return mine() ? decide(installed) : undefined;
  return onceEarlierInstallerEnded(d, over, mine, decide);
}
