/**
 * The plan shows time: each release with a rollout_schedule as a timeline in UTC, with the share
 * and the expected number of devices at each step (from the fleet's active devices where they are
 * known, else "n/a"), the step in force now and when the next starts; in Markdown also a Mermaid
 * chart of the ramp (GitHub renders it). Pure: the caller passes the time and the device counts.
 */
import { rolloutStepsOf, scheduleSteps, stepAt, type RolloutStep } from '../../schema/rollout.js';
import { sortNewestFirst } from '../../schema/version.js';
import type { Release } from '../../schema/types.js';
import type { PlanSection } from './plan-types.js';
import { scheduleLength } from '../releases/index.js';

export interface ScheduleSectionInput {
  releases: readonly Release[];
  now: Date;
  /** active devices per channel (the fleet's status), or null when none are known */
  activeDevices: ReadonlyMap<string, number> | null;
  /** the number of ids in each of the policy's rings */
  ringSizes?: Readonly<Record<string, number>>;
}

interface Row {
  step: number;
  at: string;
  percent: number;
  devices: string;
  /** in force now, next (with how long until it starts), after a pause, or nothing */
  state: string;
}

export interface ReleaseTimeline {
  version: string;
  channel: string;
  rows: Row[];
  /** one line each: the pause, the rings */
  notes: string[];
}

/** "1d 18h", "45m": how long until a time, for people. */
export function untilText(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const parts = [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', d === 0 && m % 60 > 0 ? `${m % 60}m` : ''];
  return parts.filter((p) => p !== '').join(' ') || 'now';
}

function devicesFor(r: Release, percent: number, active: ReadonlyMap<string, number> | null): string {
  if (active === null) return 'n/a';
  // A stable release is offered on every channel; any other only on its own.
  let total = 0;
  for (const [channel, n] of active) if (r.channel === 'stable' || channel === r.channel) total += n;
  if (total === 0) return 'n/a';
  return Math.round((total * percent) / 100).toLocaleString('en-US');
}

export function releaseTimeline(r: Release, input: ScheduleSectionInput): ReleaseTimeline | null {
  const s = r.rollout_schedule;
  if (s === undefined) return null;
  const t = input.now.getTime();
  const planned = scheduleSteps(s).slice(1);
  const effective: readonly RolloutStep[] = rolloutStepsOf(r);
  const pausedAt = s.paused_at === undefined ? null : Date.parse(s.paused_at);
  const { index } = stepAt(effective, t);
  const rows = planned.map((step, i): Row => {
    const starts = Date.parse(step.at!);
    const cut = pausedAt !== null && starts > pausedAt;
    const state = cut
      ? 'not while paused'
      : i + 1 === index
        ? 'in force now'
        : starts > t && (i === 0 || Date.parse(planned[i - 1]!.at!) <= t)
          ? `next, in ${untilText(starts - t)}`
          : '';
    return {
      step: i + 1,
      at: step.at!,
      percent: step.percent,
      devices: devicesFor(r, step.percent, input.activeDevices),
      state,
    };
  });
  const notes: string[] = [];
  if (index === 0 && pausedAt === null) notes.push(`0 % until the start, in ${untilText(Date.parse(s.start) - t)}`);
  if (s.paused_at !== undefined)
    notes.push(
      `paused at ${s.paused_at}: holds ${effective.at(-1)!.percent} % until resumed ("mngd-release rollout ${r.version} --schedule ...")`,
    );
  for (const ring of r.rings ?? []) {
    const size = input.ringSizes?.[ring];
    notes.push(
      `ring ${ring}${size === undefined ? '' : ` (${size} device id${size === 1 ? '' : 's'})`}: 100 % once published, whatever the step`,
    );
  }
  if (!r.active)
    notes.push('offered to nobody while it is yanked or halted: the schedule counts only once it is offered again');
  return { version: r.version, channel: r.channel, rows, notes };
}

function textLines(tl: ReleaseTimeline, length: string, start: string): string[] {
  const pad = (v: string, n: number) => v.padEnd(n);
  const width = Math.max(7, ...tl.rows.map((r) => r.devices.length));
  return [
    `${tl.version} (${tl.channel}): from ${start}, ${length} in all`,
    `  ${pad('step', 5)} ${pad('starts (UTC)', 21)} ${'share'.padStart(5)}  ${pad('devices', width)}`,
    ...tl.rows.map((r) =>
      `${r.state === 'in force now' ? '> ' : '  '}${pad(String(r.step), 5)} ${pad(r.at, 21)} ${`${r.percent} %`.padStart(5)}  ${pad(r.devices, width)}${r.state !== '' ? `  ${r.state}` : ''}`.trimEnd(),
    ),
    ...tl.notes.map((n) => `  ${n}`),
  ];
}

/** What each step offers in fact: after a pause, the share it holds. */
function bars(rows: readonly Row[]): number[] {
  let held = 0;
  return rows.map((r) => (r.state === 'not while paused' ? held : (held = r.percent)));
}

function markdownLines(tl: ReleaseTimeline, length: string, start: string): string[] {
  const label = (at: string) => at.slice(5, 16).replace('T', ' ');
  return [
    `**\`${tl.version}\`** (${tl.channel}): from ${start}, ${length} in all`,
    '',
    '| step | starts (UTC) | share | expected devices | |',
    '|---|---|---|---|---|',
    ...tl.rows.map(
      (r) =>
        `| ${r.state === 'in force now' ? `**${r.step}**` : r.step} | ${r.at} | ${r.percent} % | ${r.devices} | ${r.state} |`,
    ),
    ...(tl.notes.length > 0 ? ['', ...tl.notes.map((n) => `- ${n}`)] : []),
    '',
    '```mermaid',
    'xychart-beta',
    `  title "${tl.version}: share offered from each step (UTC)"`,
    `  x-axis [${tl.rows.map((r) => `"${label(r.at)}"`).join(', ')}]`,
    '  y-axis "share (%)" 0 --> 100',
    `  bar [${bars(tl.rows).join(', ')}]`,
    '```',
  ];
}

/** null when no release has a schedule. */
export function scheduleSection(input: ScheduleSectionInput): PlanSection | null {
  const scheduled = sortNewestFirst(
    input.releases.filter((r) => r.rollout_schedule !== undefined),
    (r) => r.version,
  );
  if (scheduled.length === 0) return null;
  const text: string[] = [];
  const markdown: string[] = [];
  const data: ReleaseTimeline[] = [];
  for (const r of scheduled) {
    const tl = releaseTimeline(r, input)!;
    const s = r.rollout_schedule!;
    const length = scheduleLength(s);
    if (text.length > 0) text.push('');
    text.push(...textLines(tl, length, s.start));
    if (markdown.length > 0) markdown.push('');
    markdown.push(...markdownLines(tl, length, s.start));
    data.push(tl);
  }
  const now = input.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    id: 'schedules',
    title: `Rollout schedules (UTC; now ${now})`,
    lines: text,
    markdown,
    data,
  };
}
