/**
 * What a change does to one channel's offer: the published manifest against the one git would
 * publish. `less` means the only effect on agents is to be offered less (a release removed, a share
 * lowered or paused, a floor removed or lowered): such a change is a safety change, and apply
 * publishes it whatever else fails. Anything that offers something new is `more` (or `mixed`),
 * and keeps the stop-at-the-first-failure order. Pure: two signed manifests in, a verdict out.
 */
import { compareVersions } from '../../schema/version.js';
import type { ManifestRelease, SignedManifest } from '../../schema/types.js';

export type OfferEffect = 'same' | 'less' | 'more' | 'mixed';

export interface OfferChange {
  channel: string;
  effect: OfferEffect;
  /** what agents are offered less of, one line each: "1.0.4 removed" */
  less: string[];
  /** what agents are offered more of, one line each: "1.0.5 added at 10%" */
  more: string[];
}

const share = (r: ManifestRelease): string => `${r.rollout_percent}%`;

function effectOf(less: readonly string[], more: readonly string[]): OfferEffect {
  if (more.length === 0) return less.length === 0 ? 'same' : 'less';
  return less.length === 0 ? 'more' : 'mixed';
}

function floorChange(before: string | null, after: string | null, less: string[], more: string[]): void {
  if (before === after) return;
  if (after === null) less.push(`floor ${before ?? 'none'} removed`);
  else if (before === null) more.push(`floor ${after} added: agents below it are forced to update`);
  else if (compareVersions(after, before) < 0) less.push(`floor lowered ${before} -> ${after}`);
  else if (compareVersions(after, before) > 0)
    more.push(`floor raised ${before} -> ${after}: agents below it are forced to update`);
}

/**
 * `published` is the signed part of the live manifest that verifies, or null when nothing usable
 * is published (nothing to compare with: anything offered counts as more).
 */
export function classifyOfferChange(published: SignedManifest | null, next: SignedManifest): OfferChange {
  const less: string[] = [];
  const more: string[] = [];
  const channel = next.channel;
  if (published === null) {
    if (next.releases.length > 0 || next.min_required_version !== null)
      more.push(`nothing usable is published: the whole manifest is new (${next.releases.length} release(s))`);
    return { channel, effect: effectOf(less, more), less, more };
  }
  floorChange(published.min_required_version, next.min_required_version, less, more);
  const before = new Map(published.releases.map((r) => [r.version, r]));
  const after = new Map(next.releases.map((r) => [r.version, r]));
  // The published list ends at its newest release at 100 %; older releases were only cut off the
  // list. Removing or lowering that release lists them again: a step back, not a new offer.
  const last = published.releases[published.releases.length - 1];
  const cutBelow = last !== undefined && last.rollout_percent === 100 ? last.version : null;
  for (const p of published.releases) {
    const n = after.get(p.version);
    if (n === undefined) less.push(`${p.version} removed (was offered to ${share(p)})`);
    else if (n.download_url !== p.download_url || n.sha256 !== p.sha256 || n.size !== p.size)
      more.push(`${p.version} points at another package`);
    else if (n.rollout_percent < p.rollout_percent)
      less.push(
        n.rollout_percent === 0
          ? `${p.version} paused (${share(p)} -> 0%)`
          : `${p.version} share lowered ${share(p)} -> ${share(n)}`,
      );
    else if (n.rollout_percent > p.rollout_percent) more.push(`${p.version} share raised ${share(p)} -> ${share(n)}`);
    // release_notes change nothing an agent installs: neither less nor more
  }
  for (const n of next.releases) {
    if (before.has(n.version)) continue;
    if (cutBelow !== null && compareVersions(n.version, cutBelow) < 0)
      less.push(`${n.version} listed again at ${share(n)} (older than ${cutBelow}, which no longer ends the list)`);
    else more.push(`${n.version} added at ${share(n)}`);
  }
  return { channel, effect: effectOf(less, more), less, more };
}

/** A safety change: some channel offers less, and none offers anything more. */
export function isSafetyChange(changes: readonly OfferChange[]): boolean {
  return changes.some((c) => c.effect === 'less') && changes.every((c) => c.effect === 'less' || c.effect === 'same');
}

/** One line per changed channel: "stable offers less: 1.0.4 removed (was offered to 10%)". */
export function offerLines(changes: readonly OfferChange[]): string[] {
  return changes
    .filter((c) => c.effect !== 'same')
    .map((c) => {
      const what = [...c.less, ...c.more].join('; ');
      const verb = c.effect === 'less' ? 'offers less' : c.effect === 'more' ? 'offers more' : 'offers less and more';
      return `${c.channel} ${verb}: ${what}`;
    });
}
