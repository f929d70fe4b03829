/**
 * The agent's starts of a pending N (docs/helper.md, "Committing N or rolling back to P"): each
 * `started` is counted in the pending record (durably) and on the monotonic clock; more than
 * `--health-max-restarts` within `--health-stable` is a crash loop, and N is rolled back.
 */
import type { HealthSettings } from './health-config.js';
import type { KeptStore, Pending } from './kept.js';
import type { Logger } from './log.js';

export class StartCounter {
  private starts: number[] = [];

  constructor(
    private readonly settings: Pick<HealthSettings, 'healthStableMs' | 'healthMaxRestarts'>,
    private readonly log: Logger,
  ) {}

  /** A new deadline armed: no start counted yet. */
  reset(): void {
    this.starts = [];
  }

  /** Counts a start of `p.to` at `t` (monotonic ms); returns the crash loop's reason, null while within bounds. */
  async count(p: Pending, t: number, kept: KeptStore): Promise<string | null> {
    const { healthStableMs, healthMaxRestarts: max } = this.settings;
    this.starts = [...this.starts.filter((s) => t - s < healthStableMs), t];
    p.restarts += 1;
    await kept.writePending(p);
    this.log.info(
      `SelfUpdate: helper counted start ${p.restarts} of pending ${p.to} (${this.starts.length} within ${healthStableMs / 1000} s; more than ${max} is a crash loop)`,
    );
    return this.starts.length > max
      ? `${this.starts.length} starts within ${healthStableMs / 1000} s, more than ${max}`
      : null;
  }
}
