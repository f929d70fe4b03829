/**
 * What the fleet did with each release, from the reported events: per channel and version, the
 * devices on it, their share of the channel's active devices, what git offers, failures by step
 * and code, rollbacks, devices blocked below the floor, unsupported ones (below the floor, on a
 * macOS no release satisfying it runs on) and stuck ones. Read-only.
 */
import { effectiveFloor, listedOn } from '../../schema/channel.js';
import { compareVersions, sortNewestFirst } from '../../schema/version.js';
import type { Sql } from '../table/index.js';
import { NOT_SUPERSEDED, ROLLBACK_FAILED } from './rollbacks.js';
import { activeDeviceGroups, activeSince, countOf } from './active.js';
import { macosMinOf, runsOneOf, satisfying, type FloorRelease } from './supported.js';

/** Offered this long and not taken: stuck. */
export const STUCK_AFTER_MS = 48 * 3600 * 1000;

export interface Failure {
  kind: string;
  code: string;
  count: number;
}

export interface VersionStatus {
  version: string;
  /** active devices on it now */
  devices: number;
  /** of the channel's active devices, in percent (one decimal) */
  share: number;
  /** the share git offers it at, or null when the channel does not list it */
  offered: number | null;
  /** install attempts towards it within the window, and how many failed */
  attempts: number;
  failures: Failure[];
  /** rollbacks away from it within the window (the health gate) */
  rollbacks: number;
  /** devices that were offered it more than 48 h ago and are still below it */
  stuck: number;
  /** active devices on it below the floor whose macOS runs no release satisfying the floor (not blocked) */
  unsupported: number;
}

export interface ChannelStatus {
  channel: string;
  activeDevices: number;
  floor: string | null;
  /** active devices below the floor that can satisfy it: their checkin waits for the update */
  blocked: number;
  /** active devices below the floor whose macOS runs no release satisfying it: not blocked, one warning */
  unsupported: number;
  versions: VersionStatus[];
}

export interface StatusInput {
  releases: readonly FloorRelease[];
  channels: readonly string[];
  now: Date;
  maxListed?: number;
}

const VERSION_KEY = "string_to_array(%s, '.')::int[]";
const v = (col: string) => VERSION_KEY.replace('%s', col);

export async function fleetStatus(sql: Sql, input: StatusInput): Promise<ChannelStatus[]> {
  const since = activeSince(input.now);
  const stuckBefore = new Date(input.now.getTime() - STUCK_AFTER_MS).toISOString();
  const groups = await activeDeviceGroups(sql, input.now);
  const events = await sql.query<{
    channel: string;
    version: string;
    kind: string;
    result: string;
    code: string | null;
    n: number;
  }>(
    `SELECT e.channel, CASE WHEN e.kind = 'rollback' THEN e.from_version ELSE e.to_version END AS version, e.kind,
            e.result, e.code, count(*)::int AS n
       FROM agent_update_events e WHERE e.at >= $1 AND e.kind IN ('download', 'install', 'health', 'rollback') AND ${NOT_SUPERSEDED}
      GROUP BY 1, 2, 3, 4, 5`,
    [since],
  );
  const out: ChannelStatus[] = [];
  for (const channel of input.channels) {
    const listed = listedOn(channel, input.releases, input.maxListed ?? 20);
    const floor = effectiveFloor(channel, input.releases);
    const mine = groups.filter((r) => r.channel === channel);
    const active = countOf(mine, () => true);
    const runsOne = floor === null ? () => true : runsOneOf(satisfying(channel, floor, input.releases).map(macosMinOf));
    const below = (r: { version: string }) => floor !== null && compareVersions(r.version, floor) < 0;
    // A version with devices on it, offered, or with failures or rollbacks in the window (one halted and left by all).
    const reported = events.rows.filter((r) => r.channel === channel && r.version !== null).map((r) => r.version);
    const versions = sortNewestFirst(
      [...new Set([...mine.map((r) => r.version), ...listed.map((r) => r.version), ...reported])].map((version) => ({
        version,
      })),
    ).map((r) => r.version);
    const rows: VersionStatus[] = [];
    for (const version of versions) {
      const on = countOf(mine, (r) => r.version === version);
      const ev = events.rows.filter((r) => r.channel === channel && r.version === version);
      const offer = listed.find((r) => compareVersions(r.version, version) === 0);
      const stuck = offer
        ? ((
            await sql.query<{ n: number }>(
              `SELECT count(DISTINCT d.device)::int AS n FROM agent_devices d
                 JOIN agent_update_events e ON e.device = d.device AND e.kind = 'check' AND e.to_version = $2 AND e.at < $3
                WHERE d.channel = $1 AND d.last_seen >= $4 AND ${v('d.current_version')} < ${v('$2')}`,
              [channel, version, stuckBefore, since],
            )
          ).rows[0]?.n ?? 0)
        : 0;
      rows.push({
        version,
        devices: on,
        share: active === 0 ? 0 : Math.round((on / active) * 1000) / 10,
        offered: offer?.rollout_percent ?? null,
        attempts: ev.filter((r) => r.kind === 'install').reduce((n, r) => n + r.n, 0),
        failures: ev
          // A Mac whose rollback keeps failing (still on N) is a failure to see, besides a rollback.
          .filter((r) => r.result === 'error' && (r.kind !== 'rollback' || r.code === ROLLBACK_FAILED))
          .map((r) => ({ kind: r.kind, code: r.code ?? 'UNKNOWN', count: r.n }))
          .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
        rollbacks: ev.filter((r) => r.kind === 'rollback').reduce((n, r) => n + r.n, 0),
        stuck,
        unsupported: countOf(mine, (r) => r.version === version && below(r) && !runsOne(r.macos)),
      });
    }
    const unsupported = rows.reduce((n, r) => n + r.unsupported, 0);
    const blocked = countOf(mine, below) - unsupported;
    out.push({ channel, activeDevices: active, floor, blocked, unsupported, versions: rows });
  }
  return out;
}
