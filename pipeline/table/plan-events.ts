/**
 * The effects of a plan that agents feel: the effective floor per channel, what the legacy
 * endpoint serves, and the load events the plan must call out loudly (floor raised, newest
 * release yanked, channel left empty). Pure.
 */
import { compareVersions, isVersion } from '../../schema/version.js';
import { channelEntryOfRow, effectiveFloor, offeredOn } from '../../schema/channel.js';
import type { FloorChange, LegacyView, PlanWarning } from './plan-types.js';
import { legacyPick, type RowValues } from './release-row.js';

/** The newest of `items` (a scan: only the first of a sort is needed). */
function newest<T extends { version: string }>(items: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const r of items) if (best === undefined || compareVersions(r.version, best.version) > 0) best = r;
  return best;
}

/** What GET /api/v1/agent/latest serves from these rows. */
export function legacyView(rows: readonly RowValues[]): LegacyView | null {
  const r = legacyPick(rows);
  return r === null ? null : { version: r.version, min_required_version: r.min_required_version };
}

export function loadEvents(
  beforeRows: readonly RowValues[],
  afterRows: readonly RowValues[],
  policyChannels: readonly string[],
): { floors: FloorChange[]; warnings: PlanWarning[] } {
  const before = beforeRows.map(channelEntryOfRow);
  const next = afterRows.map(channelEntryOfRow);
  const channels = [
    ...new Set(['stable', ...policyChannels, ...before.map((r) => r.channel), ...next.map((r) => r.channel)]),
  ];
  const floors: FloorChange[] = [];
  const warnings: PlanWarning[] = [];
  for (const channel of channels) {
    const fb = effectiveFloor(channel, before);
    const fa = effectiveFloor(channel, next);
    floors.push({ channel, before: fb, after: fa });
    if (fa !== null && (fb === null || compareVersions(fa, fb) > 0)) {
      warnings.push({
        code: 'FLOOR_RAISED',
        channel,
        message: `the floor of ${channel} rises ${fb ?? 'none'} -> ${fa}: every ${channel} agent below ${fa} must update before it checks in again`,
      });
    }
    const newestBefore = newest(offeredOn(channel, before));
    const offeredAfter = offeredOn(channel, next);
    if (newestBefore !== undefined && offeredAfter.length === 0) {
      warnings.push({
        code: 'CHANNEL_EMPTY',
        channel,
        message: `${channel} is left with no active release: its manifest will offer nothing`,
      });
    } else if (newestBefore !== undefined && !offeredAfter.some((r) => r.version === newestBefore.version)) {
      const newestAfter = newest(offeredAfter);
      warnings.push({
        code: 'NEWEST_YANKED',
        channel,
        version: newestBefore.version,
        message: `the newest release of ${channel}, ${newestBefore.version}, is yanked: ${channel} falls back to ${newestAfter?.version ?? 'nothing'}; devices already on ${newestBefore.version} stay there`,
      });
    }
  }
  const lb = legacyView(beforeRows);
  const la = legacyView(afterRows);
  if (lb !== null && la === null) {
    warnings.push({
      code: 'LEGACY_EMPTY',
      message: `the legacy endpoint /api/v1/agent/latest stops serving ${lb.version} and returns 404: old agents stop updating`,
    });
  } else if (lb !== null && la !== null) {
    if (compareVersions(la.version, lb.version) < 0) {
      warnings.push({
        code: 'LEGACY_NEWEST_YANKED',
        message: `the legacy endpoint falls back ${lb.version} -> ${la.version}`,
      });
    }
    const mb = lb.min_required_version;
    const ma = la.min_required_version;
    if (ma !== null && isVersion(ma) && (mb === null || !isVersion(mb) || compareVersions(ma, mb) > 0)) {
      warnings.push({
        code: 'LEGACY_FLOOR_RAISED',
        message: `the legacy endpoint's min_required_version rises ${mb ?? 'none'} -> ${ma}: old agents below it block checkin until they update`,
      });
    }
  }
  return { floors, warnings };
}
