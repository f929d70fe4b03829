/**
 * The attempts of a due rollback in this helper process (docs/helper.md, "Committing N or rolling
 * back to P"): their count, when the first was decided, what a failure says (the attempt, the
 * error and its code, the next try's time) and the wait before the next one (--rollback-retry).
 * The wait's timer is not unref'd (the helper has work to do): a stop and an install taking the
 * pending record over cancel it (that install failing sets it again), and once the helper is
 * stopping none is set again. The same timer waits to look again at an earlier helper's installer
 * (recheck: a takeover interrupted by a restart is decided once it has ended).
 */
import { messageOf } from '../schema/errors.js';
import { retryWait, type HealthSettings } from './health-config.js';
import type { Pending } from './kept.js';
import type { Logger } from './log.js';
import { HelperError } from './protocol.js';

export interface RetryDeps {
  settings: Pick<HealthSettings, 'rollbackRetryMs'>;
  log: Logger;
  now: () => Date;
  /** in [0, 1): the wait's jitter */
  random?: () => number;
}

export class RollbackRetry {
  private attempts = 0;
  /** the version the attempts are about (a rollback of another N counts from 1 again) */
  private about: string | null = null;
  private decidedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    private readonly d: RetryDeps,
    private readonly mono: () => number,
  ) {}

  /** A new attempt to roll `version` back: its number (1 for the first of this process). */
  begin(version: string): number {
    this.cancel();
    if (this.about !== version) [this.attempts, this.decidedAt] = [0, null];
    this.about = version;
    this.attempts += 1;
    this.decidedAt ??= this.mono();
    return this.attempts;
  }

  /** Milliseconds since the first attempt was decided. */
  elapsed(): number {
    return this.mono() - (this.decidedAt ?? this.mono());
  }

  /** elapsed(), when this process decided the rollback of `version`; null otherwise (a restart). */
  elapsedFor(version: string): number | null {
    return this.about === version && this.decidedAt !== null ? this.elapsed() : null;
  }

  /** `again` after the first wait (something to look at once more), none when stopping. */
  recheck(again: () => void): void {
    this.cancel();
    if (this.stopping) return;
    const wait = retryWait(this.d.settings, 1, this.d.random ?? Math.random);
    this.timer = setTimeout(() => {
      this.timer = null;
      again();
    }, wait);
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The helper is stopping: no wait is set any more. */
  close(): void {
    this.stopping = true;
    this.cancel();
  }

  /** Attempt `attempt` failed: one ERROR line, and `again` after the next wait (none when stopping). */
  failed(p: Pending, attempt: number, err: unknown, again: () => void): void {
    const code = err instanceof HelperError ? ` [${err.code}]` : '';
    this.later(
      `SelfUpdate: rollback ${p.to} -> ${p.from} attempt ${attempt} failed: ${messageOf(err)}${code}`,
      p,
      attempt,
      again,
    );
  }

  /**
   * The rollback of `p` is due again (`why`: an install that took its record over failed, leaving
   * N installed): its record written back durably (`write`; a failure is said: a restart would not
   * resume it, this process does), one ERROR line, and `again` after the wait that follows the
   * attempts made so far.
   */
  async resume(p: Pending, why: string, write: () => Promise<void>, again: () => void): Promise<void> {
    await write().catch((err: unknown) =>
      this.d.log.error(
        `SelfUpdate: helper could not write the rollback ${p.to} -> ${p.from} back: ${messageOf(err)}; this helper tries it again, a restart would not`,
      ),
    );
    const done = this.about === p.to ? this.attempts : 0;
    this.later(`SelfUpdate: ${why}; the rollback ${p.to} -> ${p.from} is due again`, p, done, again);
  }

  /** `what` said, then `again` after the wait that follows attempt `done` (at least the first wait). */
  private later(what: string, p: Pending, done: number, again: () => void): void {
    if (this.stopping) {
      this.d.log.error(`${what}; the helper is stopping: it is tried again when the helper starts`);
      return;
    }
    const wait = retryWait(this.d.settings, Math.max(done, 1), this.d.random ?? Math.random);
    const at = new Date(this.d.now().getTime() + wait).toISOString();
    this.d.log.error(
      `${what}; attempt ${done + 1} at ${at} (in ${(wait / 1000).toFixed(1)} s), ${p.to} stays meanwhile`,
    );
    this.timer = setTimeout(() => {
      this.timer = null;
      again();
    }, wait);
  }
}
