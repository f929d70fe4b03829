/**
 * The post-install health gate (docs/helper.md, "Health gate"): before N is installed over P,
 * P's kept package is re-hashed and `pending {from: P, to: N, …}` written durably; N then has
 * `--health-deadline` (monotonic clock) to send health_ok, which commits it. No health_ok in time,
 * or more than `--health-max-restarts` agent starts within `--health-stable`: P's kept package is
 * re-hashed and installed again (the only downgrade anywhere) and N is quarantined on this Mac.
 */
import { messageOf } from '../schema/errors.js';
import { KeptStore, pendingOf, type KeptPackage, type Pending } from './kept.js';
import type { Logger } from './log.js';
import type { HealthReply, HealthRequest } from './protocol.js';

export interface HealthSettings {
  /** how long N has to send health_ok after its install (monotonic clock) */
  healthDeadlineMs: number;
  /** the window in which more than healthMaxRestarts agent starts mean a crash loop */
  healthStableMs: number;
  healthMaxRestarts: number;
}

/** What install.ts calls around the installer. */
export interface InstallGate {
  /** before the installer runs over `installed` */
  before(installed: string, release: KeptPackage): Promise<void>;
  /** after it ran: `staged` is the verified copy it ran on */
  after(ok: boolean, staged: string, release: KeptPackage): Promise<void>;
  /** versions never to install again on this Mac */
  quarantined(): Promise<string[]>;
}

export interface GateDeps {
  settings: HealthSettings;
  log: Logger;
  now: () => Date;
  installedVersion: () => Promise<string | null>;
  /** stages `pkgPath` (re-hashing the copy against `kept`) and runs the installer on it; throws when it did not install `kept.version` */
  reinstall: (pkgPath: string, kept: KeptPackage) => Promise<void>;
  /** milliseconds on a monotonic clock */
  monotonic?: () => number;
}

export class HealthGate implements InstallGate {
  readonly kept: KeptStore;
  private pending: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private starts: number[] = [];
  private installing = false;
  private rollingBack: Promise<void> | null = null;
  private readonly mono: () => number;

  constructor(
    stateDir: string,
    private readonly d: GateDeps,
  ) {
    this.kept = new KeptStore(stateDir, d.log);
    this.mono = d.monotonic ?? (() => performance.now());
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
    if (p.rolling_back !== undefined) {
      if (installed === p.from) return this.finishRollback(p);
      this.d.log.warn(`SelfUpdate: helper resumes the rollback ${p.to} -> ${p.from} a restart interrupted`);
      this.rollback(p, p.rolling_back);
    } else if (installed === p.to) {
      // A fresh budget from this start: the monotonic clock does not survive a reboot.
      this.pending = p;
      this.arm(p);
    } else {
      this.d.log.warn(
        `SelfUpdate: helper drops pending ${p.from} -> ${p.to}: ${installed ?? 'an unknown version'} is installed (the install did not complete)`,
      );
      await this.kept.clearPending();
    }
  }

  /** Stops the deadline timer (the helper is stopping). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(p: Pending): void {
    this.stop();
    this.starts = [];
    this.timer = setTimeout(() => this.rollback(p, `no health_ok within ${p.deadline_s} s`), p.deadline_s * 1000);
    this.timer.unref();
  }

  quarantined(): Promise<string[]> {
    return this.kept.quarantined();
  }

  async before(installed: string, release: KeptPackage): Promise<void> {
    this.installing = true;
    this.stop();
    if (this.pending?.to === installed)
      this.d.log.info(`SelfUpdate: health ok ${installed} (it asked for ${release.version}: its updater works)`);
    this.pending = null;
    const p = await this.kept.verified(installed);
    if (!p.ok) {
      // Nothing to go back to: N is installed as before, without a health gate (said, not hidden).
      await this.kept.clearPending();
      this.d.log.warn(
        `SelfUpdate: helper keeps no rollback for ${installed} -> ${release.version} (${p.why}); ${release.version} is committed as soon as it installs`,
      );
      return;
    }
    const pending = pendingOf(installed, release, this.deadlineS, this.d.now());
    await this.kept.writePending(pending);
    this.pending = pending;
    this.d.log.info(
      `SelfUpdate: helper kept ${installed} (re-hashed) for a rollback; pending ${installed} -> ${release.version} until health_ok (deadline ${this.deadlineS} s)`,
    );
  }

  async after(ok: boolean, staged: string, release: KeptPackage): Promise<void> {
    this.installing = false;
    if (!ok) {
      // The installer failed: the installed version did not change, nothing is pending.
      this.pending = null;
      await this.kept.clearPending();
      return;
    }
    try {
      await this.kept.keep(staged, { version: release.version, sha256: release.sha256, size: release.size });
      await this.kept.keepOnly([...(this.pending !== null ? [this.pending.from] : []), release.version]);
    } catch (err) {
      this.d.log.warn(`SelfUpdate: helper could not keep the package of ${release.version}: ${messageOf(err)}`);
    }
    if (this.pending !== null) this.arm(this.pending);
  }

  /** The agent's start ping or its health_ok. */
  async message(req: HealthRequest): Promise<HealthReply> {
    const p = this.pending;
    const mine = p !== null && p.to === req.version && this.rollingBack === null && !this.installing;
    if (mine && req.type === 'health_ok') {
      this.stop();
      this.pending = null;
      await this.kept.clearPending();
      await this.kept.keepOnly([req.version]);
      this.d.log.info(`SelfUpdate: health ok ${req.version}`);
    } else if (mine) {
      const t = this.mono();
      this.starts = [...this.starts.filter((s) => t - s < this.d.settings.healthStableMs), t];
      p.restarts += 1;
      await this.kept.writePending(p);
      const max = this.d.settings.healthMaxRestarts;
      this.d.log.info(
        `SelfUpdate: helper counted start ${p.restarts} of pending ${p.to} (${this.starts.length} within ${this.d.settings.healthStableMs / 1000} s; more than ${max} is a crash loop)`,
      );
      if (this.starts.length > max)
        this.rollback(
          p,
          `${this.starts.length} starts within ${this.d.settings.healthStableMs / 1000} s, more than ${max}`,
        );
    }
    return {
      v: 1,
      id: req.id,
      ok: true,
      outcome: req.type,
      pending: this.pending !== null && this.pending.to === req.version && this.rollingBack === null,
      quarantined: await this.kept.quarantined(),
    };
  }

  /** Puts P back: at most once at a time; the record says so durably first, so a restart resumes it. */
  private rollback(p: Pending, reason: string): void {
    if (this.installing || this.rollingBack !== null) return;
    this.stop();
    this.rollingBack = this.runRollback(p, reason)
      .catch((err: unknown) =>
        this.d.log.error(
          `SelfUpdate: rollback ${p.to} -> ${p.from} failed: ${messageOf(err)}; it is tried again when the helper starts`,
        ),
      )
      .finally(() => (this.rollingBack = null));
  }

  private async runRollback(p: Pending, reason: string): Promise<void> {
    const v = await this.kept.verified(p.from);
    if (!v.ok) {
      this.pending = null;
      await this.kept.clearPending();
      this.d.log.error(
        `SelfUpdate: rollback ${p.to} -> ${p.from} (${reason}) refused: ${v.why}; nothing installed, ${p.to} stays`,
      );
      return;
    }
    this.pending = { ...p, rolling_back: reason };
    await this.kept.writePending(this.pending);
    await this.kept.quarantine(p.to);
    this.d.log.warn(`SelfUpdate: rollback ${p.to} -> ${p.from} (${reason})`);
    await this.d.reinstall(this.kept.pkgPath(p.from), v.kept);
    await this.finishRollback(this.pending);
  }

  private async finishRollback(p: Pending): Promise<void> {
    this.pending = null;
    await this.kept.quarantine(p.to);
    await this.kept.clearPending();
    await this.kept.keepOnly([p.from]);
    this.d.log.warn(`SelfUpdate: rollback complete: ${p.from} installed again; ${p.to} is quarantined on this Mac`);
  }
}
