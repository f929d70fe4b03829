/**
 * `plan` with real numbers, when the database holds what the fleet reported (agent_devices):
 * a floor raised blocks the active devices below it until they update ("raising the floor to
 * 1.0.3 blocks 1,204 devices (8.1 %) until they update; 37 on macOS 12 become unsupported"), and
 * a yank or halt leaves the devices on that version where they are. Active: seen within 7 days,
 * as `status` counts them. Read-only; without the fleet tables there is no section.
 */
import { compareVersions } from '../../schema/version.js';
import type { Plan, PlanSection, Sql } from '../table/index.js';
import { activeDeviceGroups, countOf } from './active.js';
import { macosMinOf, runsOneOf, satisfying, type FloorRelease } from './supported.js';

export interface FloorImpact {
  channel: string;
  from: string | null;
  to: string;
  /** active devices on the channel */
  active: number;
  /** active devices below the new floor: their checkin waits for the update */
  blocked: number;
  /** of those, devices whose macOS runs no release at or above the floor: "unsupported", not blocked */
  unsupported: number;
  /** unsupported devices by macOS major version, e.g. {"12": 37} */
  unsupportedByMacos: Record<string, number>;
}

export interface StopImpact {
  channel: string;
  version: string;
  /** yanked or halted */
  how: 'yank' | 'halt';
  active: number;
  /** active devices on that version: they stay on it until a newer release is offered */
  devices: number;
}

export interface FleetImpact {
  floors: FloorImpact[];
  stops: StopImpact[];
}

/** The oldest macOS a release needs, when its file says (spec 2's `requires.macos_min`). */
export type MacosMinOf = (version: string) => string | null;

export async function hasFleetTables(sql: Sql): Promise<boolean> {
  const { rows } = await sql.query<{ ok: boolean }>(`SELECT to_regclass('agent_devices') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (n: number, of: number) => (of === 0 ? '0.0' : ((n / of) * 100).toFixed(1));
const major = (macos: string) => macos.split('.')[0] ?? macos;

/** Counts per plan change; `satisfying(channel, floor)` lists the versions offered there that satisfy the floor. */
export async function fleetImpact(
  sql: Sql,
  plan: Plan,
  opts: { now: Date; satisfying: (channel: string, floor: string) => string[]; macosMin: MacosMinOf },
): Promise<FleetImpact | null> {
  if (!(await hasFleetTables(sql))) return null;
  const groups = await activeDeviceGroups(sql, opts.now);
  const activeOn = (channel: string) => countOf(groups, (g) => g.channel === channel);
  const floors: FloorImpact[] = [];
  for (const f of plan.floors) {
    if (f.after === null || (f.before !== null && compareVersions(f.after, f.before) <= 0)) continue;
    const to = f.after;
    const below = groups.filter((g) => g.channel === f.channel && compareVersions(g.version, to) < 0);
    const runsOne = runsOneOf(opts.satisfying(f.channel, to).map(opts.macosMin));
    const unsupportedByMacos: Record<string, number> = {};
    let unsupported = 0;
    for (const g of below) {
      if (runsOne(g.macos)) continue;
      unsupported += g.n;
      unsupportedByMacos[major(g.macos)] = (unsupportedByMacos[major(g.macos)] ?? 0) + g.n;
    }
    floors.push({
      channel: f.channel,
      from: f.before,
      to,
      active: activeOn(f.channel),
      blocked: countOf(below, () => true) - unsupported,
      unsupported,
      unsupportedByMacos,
    });
  }
  const stops: StopImpact[] = [];
  for (const y of plan.yanks) {
    const channel = String(y.row.channel ?? 'stable');
    const devices = countOf(groups, (g) => g.channel === channel && compareVersions(g.version, y.version) === 0);
    stops.push({
      channel,
      version: y.version,
      how: y.reason === 'file-says-halted' ? 'halt' : 'yank',
      active: activeOn(channel),
      devices,
    });
  }
  return { floors, stops };
}

export function floorLine(f: FloorImpact): string {
  const unsupported = Object.entries(f.unsupportedByMacos)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([m, n]) => `${fmt(n)} on macOS ${m}`)
    .join(', ');
  return `raising the floor of ${f.channel} to ${f.to} blocks ${fmt(f.blocked)} device(s) (${pct(f.blocked, f.active)} % of ${fmt(f.active)} active) until they update${f.unsupported > 0 ? `; ${unsupported} become unsupported (no release at or above ${f.to} runs there: not blocked, one warning)` : ''}`;
}

export function stopLine(s: StopImpact): string {
  return `this ${s.how} leaves ${fmt(s.devices)} device(s) (${pct(s.devices, s.active)} % of ${s.channel}'s ${fmt(s.active)} active) on ${s.version}; the rescue rule moves them to the next release`;
}

/** The plan section, and the load events' messages completed with their numbers. */
export function impactSection(impact: FleetImpact, plan: Plan): PlanSection {
  for (const w of plan.warnings) {
    const f = impact.floors.find((x) => w.code === 'FLOOR_RAISED' && x.channel === w.channel);
    if (f !== undefined) w.message = `${w.message}: ${floorLine(f)}`;
    const s = impact.stops.find(
      (x) => (w.code === 'NEWEST_YANKED' || w.code === 'RELEASE_HALTED') && w.version === x.version,
    );
    if (s !== undefined) w.message = `${w.message}: ${stopLine(s)}`;
  }
  const lines = [...impact.floors.map(floorLine), ...impact.stops.map(stopLine)];
  return {
    id: 'fleet',
    title: 'What the fleet feels (agent_devices, active within 7 days)',
    lines: lines.length > 0 ? lines : ['no floor raised and no release stopped: no device is blocked or left behind'],
    data: impact,
  };
}

/** What fleetImpact reads of the release files: the releases satisfying a floor, and their macOS minimum. */
export function releaseFacts(releases: readonly FloorRelease[]): {
  satisfying: (channel: string, floor: string) => string[];
  macosMin: MacosMinOf;
} {
  return {
    satisfying: (channel, floor) => satisfying(channel, floor, releases).map((r) => r.version),
    // Spec 2's release files say which macOS a release needs; a file without `requires` runs anywhere.
    macosMin: (version) => {
      const r = releases.find((x) => compareVersions(x.version, version) === 0);
      return r === undefined ? null : macosMinOf(r);
    },
  };
}
