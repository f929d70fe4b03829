/**
 * The fleet's active devices, one query for every reader (`status`, `plan`'s numbers and its
 * expected devices per step): devices seen within the window, grouped by channel, version and
 * macOS. Read-only.
 */
import type { Sql } from '../table/index.js';

/** Devices seen within this window count as active. */
export const ACTIVE_WINDOW_MS = 7 * 24 * 3600 * 1000;

/** The oldest last_seen that still counts as active at `now`. */
export const activeSince = (now: Date): string => new Date(now.getTime() - ACTIVE_WINDOW_MS).toISOString();

/** Active devices of one channel, version and macOS. */
export interface DeviceGroup {
  channel: string;
  version: string;
  macos: string;
  n: number;
}

export async function activeDeviceGroups(sql: Sql, now: Date): Promise<DeviceGroup[]> {
  const { rows } = await sql.query<DeviceGroup>(
    `SELECT channel, current_version AS version, macos, count(*)::int AS n
       FROM agent_devices WHERE last_seen >= $1 GROUP BY channel, current_version, macos`,
    [activeSince(now)],
  );
  return rows;
}

/** The sum of the groups that match, e.g. one channel's active devices. */
export const countOf = (groups: readonly DeviceGroup[], match: (g: DeviceGroup) => boolean): number =>
  groups.reduce((n, g) => (match(g) ? n + g.n : n), 0);

/** Active devices per channel (empty before any report). */
export async function activeDevicesByChannel(sql: Sql, now: Date): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const g of await activeDeviceGroups(sql, now)) out.set(g.channel, (out.get(g.channel) ?? 0) + g.n);
  return out;
}
