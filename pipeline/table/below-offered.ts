/**
 * A new release below what its channel already gives every device: agents never downgrade and a
 * manifest lists nothing older than its newest 100 % release, so no device will ever take it.
 * Allowed (a backport for the record), but the plan says so. Pure.
 */
import { offeredOn } from '../../schema/channel.js';
import type { Release } from '../../schema/types.js';
import { compareVersions } from '../../schema/version.js';
import type { PlanWarning } from './plan-types.js';

/**
 * `added`: the versions the plan inserts; `releases`: git's; `inTable`: the versions the table
 * already has (a first sync of a whole history warns about nothing: the newer ones are new too).
 */
export function belowOfferedWarnings(
  added: readonly string[],
  releases: readonly Release[],
  inTable: ReadonlySet<string>,
): PlanWarning[] {
  const out: PlanWarning[] = [];
  const live = releases.filter((r) => r.halted === undefined);
  for (const version of added) {
    const r = live.find((x) => x.version === version);
    if (r === undefined || !r.active || r.rollout_percent === 0) continue;
    const above = offeredOn(r.channel, live)
      .filter((o) => o.rollout_percent === 100 && inTable.has(o.version) && compareVersions(o.version, version) > 0)
      .sort((a, b) => compareVersions(a.version, b.version))[0];
    if (above === undefined) continue;
    out.push({
      code: 'RELEASE_BELOW_OFFERED',
      channel: r.channel,
      message: `${version} is below ${above.version}, which ${r.channel} already offers to every device: no device will ever take ${version} (agents never downgrade, and the manifest lists nothing older than its newest 100 % release); to ship it, release it as a version above ${above.version}`,
    });
  }
  return out;
}
