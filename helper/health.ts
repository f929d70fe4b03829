/**
 * The post-install health gate (docs/helper.md, "Health gate"): before N is installed over P,
 * P's kept package is re-hashed and `pending {from: P, to: N, …}` written durably; N then has
 * `--health-deadline` (monotonic clock) to send health_ok, which commits it. No health_ok in time,
 * or more than `--health-max-restarts` agent starts within `--health-stable`: P's kept package is
 * re-hashed and installed again (the only downgrade anywhere) and N is quarantined on this Mac.
 * A reinstall that fails is tried again by the running helper after `--rollback-retry` (backing
 * off, with jitter), for as long as the pending record says the rollback is due; an install asked
 * for meanwhile takes it over (takeover.ts). Each outcome (N committed, P put back, a rollback
 * refused, failed or taken over) goes into the outbox (outbox.ts), which the agent empties into
 * its report.
 */
import { messageOf } from '../schema/errors.js';
import { isQuarantined } from '../schema/quarantine.js';
import { HelperError, type GateReply, type GateRequest } from './protocol.js';
import { KeptStore, pendingOf, type KeptPackage, type Pending, type RollbackCause } from './kept.js';
import { failedOutcome, Outbox } from './outbox.js';
import { completed, refused } from './rolled-back.js';
import * as takeover from './takeover.js';
import { onceEarlierInstallerEnded, type EarlierInstallerDeps } from './earlier-installer.js';
import type { InstallGate } from './install.js';
import { RollbackRetry, type RetryDeps } from './rollback-retry.js';
import { committed, gateReply, installOverPending } from './over-pending.js';
import { StartCounter } from './crash-loop.js';
import type { HealthSettings } from './health-config.js';

export type { HealthSettings } from './health-config.js';

/** installedVersion, and earlierInstaller: the installer an earlier (killed) helper started (earlier-installer.ts) */
export interface GateDeps extends RetryDeps, Omit<EarlierInstallerDeps, 'retry'> {
  settings: HealthSettings;
  /** stages `pkgPath` (re-hashing the copy against `kept`) and runs the installer on it; throws when it did not install `kept.version` */
  reinstall: (pkgPath: string, kept: KeptPackage) => Promise<void>;
  /** milliseconds on a monotonic clock */
  monotonic?: () => number;
}

export class HealthGate implements InstallGate {
  readonly kept: KeptStore;
  readonly outbox: Outbox;
  private pending: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly starts: StartCounter;
  /** when the deadline was armed (monotonic): a health event says how long N took to prove healthy */
  private armedAt = 0;
  private installing = false;
  private stopping = false;
  private rollingBack: Promise<void> | null = null;
  /** the due rollback whose record the running install took over: due again if that install fails */
  private due: Pending | null = null;
  /** the pending N whose record the running install took over, not asked for by the agent: N proved nothing */
  private unproven: Pending | null = null;
  private readonly mono: () => number;
  private readonly retry: RollbackRetry;
  private readonly t: takeover.TakeoverDeps;

  constructor(
    stateDir: string,
    private readonly d: GateDeps,
  ) {
    this.kept = new KeptStore(stateDir, d.log);
    this.outbox = new Outbox(stateDir, d.log);
    this.mono = d.monotonic ?? (() => performance.now());
    this.retry = new RollbackRetry(d, this.mono);
    this.starts = new StartCounter(d.settings, d.log);
    this.t = { ...d, kept: this.kept, outbox: this.outbox, retry: this.retry };
  }

  private get deadlineS(): number {
    return Math.round(this.d.settings.healthDeadlineMs / 1000);
  }

  /** The rollback in progress, if any (tests and a clean stop wait for it). */
  get settled(): Promise<void> {
    return this.rollingBack ?? Promise.resolve();
  }

  /** At the helper's start: picks up the pending record as found (a torn one rebuilt or removed, kept.ts). */
  async start(): Promise<void> {
    const installed = await this.d.installedVersion();
    const p = await this.kept.pendingAtStart(installed, this.deadlineS, this.d.now());
    if (p === null) return;
    // A takeover, or a rollback, a restart interrupted: its installer (the earlier helper's) may run
    // on; decided once it has ended, unless an install takes the record first.
    const mine = () => this.pending === p && !this.installing;
    if (p.took_over !== undefined || p.rolling_back !== undefined) this.pending = p;
    if (p.took_over !== undefined)
      return takeover.resumeTakeover(this.t, p, installed, mine, (q) => mine() && this.resume(q));
    const what = `the rollback ${p.to} -> ${p.from} a restart interrupted`;
    if (p.rolling_back !== undefined) return onceEarlierInstallerEnded(this.t, what, mine, (i) => this.ended(p, i));
    if (installed === p.to) return this.resume(p);
    this.d.log.warn(
      `SelfUpdate: helper drops pending ${p.from} -> ${p.to}: ${installed ?? 'an unknown version'} is installed (the install did not complete)`,
    );
    await this.kept.clearPending();
  }

  /** A rollback a restart interrupted, its installer ended: P installed completes it (installs wait, as for a rollback), else resumed. */
  private ended(p: Pending, installed: string | null): Promise<void> | void {
    if (installed !== p.from)
      this.d.log.warn(`SelfUpdate: helper resumes the rollback ${p.to} -> ${p.from} a restart interrupted`);
    if (installed !== p.from) return this.resume(p);
    const done = this.finishRollback(p); // awaited by the caller, which says its error
    this.rollingBack = done.catch(() => undefined).finally(() => (this.rollingBack = null));
    return done;
  }

  /** A record found at start: its rollback resumed, or its deadline armed (afresh: the monotonic clock dies with a reboot). */
  private resume(p: Pending): void {
    this.pending = p;
    if (p.rolling_back === undefined) this.arm(p);
    else this.rollback(p, p.rolling_back, p.cause ?? 'HEALTH_DEADLINE');
  }

  /** Stops the timers: the deadline, and the wait before the next rollback attempt. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.retry.cancel();
  }

  /**
   * Stopping (SIGTERM): no timer is set again, no rollback starts (no installer starts); resolves once
   * a rollback in progress is done. The durable record stays for the next start.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.retry.close();
    this.stop();
    await this.settled;
  }

  private arm(p: Pending): void {
    this.stop();
    this.starts.reset();
    this.armedAt = this.mono();
    this.timer = setTimeout(
      () => this.rollback(p, `no health_ok within ${p.deadline_s} s`, 'HEALTH_DEADLINE'),
      p.deadline_s * 1000,
    );
    this.timer.unref();
  }

  quarantined(): Promise<string[]> {
    return this.kept.quarantined();
  }

  async before(installed: string, release: KeptPackage, byAgent: boolean): Promise<void> {
    // One installer at a time: the rollback's own install holds the slot (the server's BUSY rule).
    if (this.rollingBack !== null)
      throw new HelperError(
        'BUSY',
        `the helper is putting ${this.pending?.from ?? 'the version before'} back (a rollback); retry after it finishes`,
      );
    this.installing = true;
    this.stop();
    // A takeover or a rollback a restart interrupted, not decided yet: its installer has ended (install.ts checked).
    try {
      this.pending = await takeover.settleAtInstall(this.t, this.pending, installed);
    } catch (err) {
      this.installing = false; // after() changes nothing: the record is not cleared
      const [p, error] = await takeover.unsettled(this.t, this.pending!, installed, release.version, err, (q) =>
        this.resume(q),
      );
      this.pending = p;
      throw error;
    }
    this.due = this.pending?.rolling_back !== undefined ? this.pending : null;
    // N asked for an install (the agent's: over-pending.ts): its updater works (not said of an N whose rollback is due).
    const n = this.pending?.to === installed && this.due === null ? this.pending : null;
    this.unproven = await installOverPending(this.t, n, release.version, byAgent, this.mono() - this.armedAt);
    this.pending = null;
    // Taking a due rollback over, or over an N not proven: its P (the last known good) stays the one to go back to.
    const from = (this.due ?? this.unproven)?.from ?? installed;
    const p = await this.kept.verified(from);
    if (!p.ok) {
      // Nothing to go back to: N is installed as before, without a health gate (said, not hidden).
      await this.kept.clearPending();
      this.d.log.warn(
        `SelfUpdate: helper keeps no rollback for ${from} -> ${release.version} (${p.why}); ${release.version} is committed as soon as it installs`,
      );
      return;
    }
    // Durably before the installer runs: a helper killed before it ends still knows P is due.
    const pending = takeover.takingOver(pendingOf(from, release, this.deadlineS, this.d.now()), this.due);
    await this.kept.writePending(pending);
    this.pending = pending;
    const over = this.due !== null ? ` (taking the due rollback ${installed} -> ${from} over)` : '';
    this.d.log.info(
      `SelfUpdate: helper kept ${from} (re-hashed) for a rollback; pending ${from} -> ${release.version}${over} until health_ok (deadline ${this.deadlineS} s)`,
    );
  }

  async after(ok: boolean, staged: string, release: KeptPackage): Promise<void> {
    if (!this.installing) return; // before() did not run, or refused: nothing of the gate's changed
    this.installing = false;
    const [due, n] = [this.due, this.unproven];
    [this.due, this.unproven] = [null, null];
    if (!ok) {
      // The installer failed: the installed version did not change, nothing is pending, but a due
      // rollback: N stays, so it is due again (durably), after the wait; an N not proven: pending again.
      this.pending = due ?? n;
      if (n !== null) return this.kept.writePending(n).finally(() => this.arm(n));
      if (due === null) return this.kept.clearPending();
      const write = () => this.kept.writePending(due);
      return this.retry.resume(due, `the install of ${release.version} over ${due.to} failed`, write, () =>
        this.resume(due),
      );
    }
    try {
      await this.kept.keep(staged, { version: release.version, sha256: release.sha256, size: release.size });
      await this.kept.keepOnly([...(this.pending !== null ? [this.pending.from] : []), release.version]);
    } catch (err) {
      this.d.log.warn(`SelfUpdate: helper could not keep the package of ${release.version}: ${messageOf(err)}`);
    }
    // N is off this Mac: the fleet no longer counts it stuck on N.
    if (due !== null) this.pending = await takeover.landed(this.t, due, release.version, this.pending);
    if (this.pending !== null) this.arm(this.pending);
  }

  /** The agent's start ping, its health_ok, or its acknowledgement of the outcomes it queued. */
  async message(req: GateRequest): Promise<GateReply> {
    if (req.type === 'events_ack')
      return { v: 1, id: req.id, ok: true, outcome: 'events_ack', remaining: await this.outbox.ack(req.ids) };
    // M's agent runs: a takeover that a restart interrupted landed (decided now, its deadline armed).
    const t = this.pending;
    if (t?.took_over !== undefined && t.to === req.version && (await this.d.installedVersion()) === t.to)
      if (!this.installing) this.resume(await takeover.settle(this.t, t, t.to));
    const p = this.pending;
    // A rollback decided (running, or waiting for its next attempt) is not undone by N's word.
    const mine = p !== null && p.to === req.version && !this.rollbackDue && !this.installing;
    if (mine && req.type === 'health_ok') {
      this.stop();
      this.pending = null;
      await committed(this.t, p, this.mono() - this.armedAt);
    } else if (mine) {
      const loop = await this.starts.count(p, this.mono(), this.kept);
      if (loop !== null) this.rollback(p, loop, 'CRASH_LOOP');
    }
    const pending = this.pending !== null && this.pending.to === req.version && !this.rollbackDue;
    return gateReply(this.t, req, pending);
  }

  /**
   * Puts P back: at most once at a time, never beside an install; the record says so durably
   * first, so a restart resumes it. A failed attempt is tried again after the next wait of
   * `--rollback-retry` while the record still says the rollback is due.
   */
  private rollback(p: Pending, reason: string, cause: RollbackCause): void {
    if (this.installing || this.rollingBack !== null || this.stopping) return;
    this.stop();
    const attempt = this.retry.begin(p.to);
    this.rollingBack = this.runRollback(p, reason, cause, attempt)
      .catch((err: unknown) => this.failed(p, reason, cause, attempt, err))
      .finally(() => (this.rollingBack = null));
  }

  /** P is being put back, is to be once the wait after a failed attempt is over, or may be (a takeover undecided). */
  private get rollbackDue(): boolean {
    const p = this.pending;
    return this.rollingBack !== null || p?.rolling_back !== undefined || p?.took_over !== undefined;
  }

  /** Attempt `attempt` failed: reported to the fleet once per helper process, said, and tried again. */
  private async failed(p: Pending, reason: string, cause: RollbackCause, attempt: number, err: unknown): Promise<void> {
    if (attempt === 1) await this.outbox.record(failedOutcome(p, this.d.now()));
    this.retry.failed(p, attempt, err, () => this.rollback(p, reason, cause));
  }

  private async runRollback(p: Pending, reason: string, cause: RollbackCause, attempt: number): Promise<void> {
    const v = await this.kept.verified(p.from);
    // Defence in depth: a version rolled back here is never the one put back.
    if (!v.ok || isQuarantined(p.from, await this.kept.quarantined())) {
      this.pending = null;
      return refused(
        this.t,
        p,
        reason,
        v.ok ? `${p.from} is quarantined on this Mac (it was rolled back here)` : v.why,
      );
    }
    this.pending = { ...p, rolling_back: reason, cause };
    await this.kept.writePending(this.pending);
    await this.kept.quarantine(p.to);
    if (this.stopping)
      return this.d.log.warn(`SelfUpdate: helper stopping: the rollback ${p.to} -> ${p.from} resumes at its start`);
    this.d.log.warn(
      `SelfUpdate: rollback ${p.to} -> ${p.from} (${reason})${attempt > 1 ? `, attempt ${attempt}` : ''}`,
    );
    await this.d.reinstall(this.kept.pkgPath(p.from), v.kept);
    await this.finishRollback(this.pending, this.retry.elapsed());
  }

  /** `ms`: from the decision to P installed again (null: a restart interrupted it, the clock did not survive). */
  private finishRollback(p: Pending, ms: number | null = null): Promise<void> {
    this.pending = null;
    return completed(this.t, p, ms);
  }
}
