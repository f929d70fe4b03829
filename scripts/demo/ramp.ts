/**
 * The demo of rollouts that ramp by themselves (issue 17), over simulated days: 2.0.0 declares a
 * rollout_schedule 1 % → 10 % → 50 % → 100 % (a day per step) and the canary ring. The pipeline
 * signs on day 0 at a chosen time, and the 20 Macs (spec 2) check once a day on a simulated
 * clock (sim-clock.ts: agents and helpers alike). Day 0: the ring takes 2.0.0; days 1 and 2: the
 * share grows with the clock alone, no publish; day 2: on-call pauses, which holds 50 %;
 * day 3: still 50 % though the schedule says 100 %; day 4: `rollout 2.0.0 100` resumes it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeShareAt, evaluationTime, shareAt } from '../../schema/rollout.js';
import type { SignedManifest2 } from '../../schema/types.js';
import type { CheckRun } from './fleet.js';
import { lastCheckLine, viaOf } from './mac-report.js';
import { spec2Fleet, type MacStoryOptions } from './mixed-fleet.js';
import { SimClock } from './sim-clock.js';
import { openStage, singlePackage } from './stage.js';
import { markdownTable, textTable, type Row } from './table.js';

export const RAMPED = '2.0.0';
/** the canary ring's members (plain device ids: in git only) */
export const CANARY = ['mac-01', 'mac-02', 'mac-04'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface Day {
  day: number;
  /** the simulated time the Macs checked at */
  at: string;
  manifest: SignedManifest2;
  /** the share in force for the Macs' clock, and its step as the agents log it */
  share: number;
  step: string;
  /** what the schedule alone would say (differs while paused) */
  scheduled: number;
  /** what the pipeline did that day before the checks, if anything */
  action: string | null;
  /** device id -> how it got 2.0.0 that day (ring canary, cohort) */
  updated: Map<string, string>;
  /** devices on 2.0.0 after the day's checks */
  on: number;
  checks: CheckRun[];
}

export interface RampResult {
  start: string;
  days: Day[];
  /** the pause's paused_at */
  pausedAt: string | null;
  fleet: string[];
  helperPids: number[];
}

/** The schedule's start: the next full hour of the real clock (so every simulated time is ahead of it). */
function nextHour(): Date {
  return new Date(Math.ceil((Date.now() + 1) / HOUR) * HOUR);
}

export async function runRamp(opts: MacStoryOptions): Promise<RampResult> {
  const { out } = opts;
  mkdirSync(opts.dir, { recursive: true });
  const clock = new SimClock(opts.dir);
  const start = nextHour();
  const startText = start.toISOString().replace(':00.000Z', 'Z');
  const schedule = { start: startText, steps: [1, 10, 50].map((percent) => ({ percent, hold: '24h' })) };
  const at = (day: number, hours: number) => new Date(start.getTime() + day * DAY + hours * HOUR);
  const stage = await openStage({ ...opts, now: () => clock.now() });
  const fleet = spec2Fleet(stage, opts, clock.env());
  const days: Day[] = [];
  let pausedAt: string | null = null;
  try {
    out(
      [
        `${fleet.devices.length} Macs run mngd-agent 1.0.0 (spec 2). Their agents and helpers, and the pipeline, run on a simulated`,
        `clock (${clock.file}): day 0 is ${startText.slice(0, 10)}, the ramp starts at ${startText.slice(11, 16)} UTC.`,
        `rings/canary.txt names ${CANARY.join(', ')}; published, they are SHA-256(ring_salt + "/" + id) only.`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(stage.repo, 'rings'));
    writeFileSync(join(stage.repo, 'rings', 'canary.txt'), `${CANARY.join('\n')}\n`);
    stage.writePolicy(
      ['rings:', '  canary: {device_ids_file: rings/canary.txt}', `ring_salt: "${randomBytes(32).toString('hex')}"`],
      ['stable'],
    );
    const universal = (v: string) => singlePackage(stage.addPackage(v));
    stage.writeRelease({ version: '1.0.0', ...universal('1.0.0'), release_notes: 'Today.' });
    stage.writeRelease({
      version: RAMPED,
      ...universal(RAMPED),
      release_notes: 'Ramps by itself.',
      rollout_schedule: { ...schedule, steps: [...schedule.steps, { percent: 100 }] },
      rings: ['canary'],
    });
    stage.git('add', '-A');
    stage.git('commit', '-qm', `Release ${RAMPED} on a schedule, canary ring first`);
    await fleet.startHelpers();

    const merge = async (what: string, when: Date, edit?: readonly string[]): Promise<string> => {
      clock.set(when);
      out(`\n[${clock.now().toISOString().slice(0, 16)}Z] ${what}\n`);
      if (edit !== undefined) {
        await stage.run(edit);
        stage.git('commit', '-qam', what);
      }
      await stage.apply();
      return what;
    };
    const day = async (n: number, action: string | null): Promise<Day> => {
      clock.set(at(n, 3));
      const manifest = stage.manifest2();
      const t = evaluationTime(clock.now().getTime(), manifest.published_at, manifest.expires_at);
      const r = manifest.releases.find((x) => x.version === RAMPED)!;
      const share = shareAt(r.rollout, t);
      const scheduled = n >= 3 ? 100 : [1, 10, 50][n]!;
      out(
        `\n━━ Day ${n}, ${clock.now().toISOString().slice(0, 16)}Z ━━ v2/latest.json sequence ${manifest.sequence} (signed ${manifest.published_at}): ${RAMPED} at ${describeShareAt(r.rollout, t)}\n`,
      );
      const waiting = fleet.devices.filter((d) => fleet.version(d) !== RAMPED);
      const checks = await fleet.checkAll(4, waiting);
      const updated = new Map<string, string>();
      for (const d of waiting) if (fleet.version(d) === RAMPED) updated.set(d.id, viaOf(lastCheckLine(d)));
      const on = fleet.devices.filter((d) => fleet.version(d) === RAMPED).length;
      const step = describeShareAt(r.rollout, t);
      out(
        `${waiting.length} Macs not on ${RAMPED} checked: ${updated.size} updated${updated.size > 0 ? ` (${[...updated].map(([id, via]) => `${id}: ${via}`).join(', ')})` : ''}; ${on} of ${fleet.devices.length} now run ${RAMPED}\n`,
      );
      const result: Day = {
        day: n,
        at: clock.now().toISOString(),
        manifest,
        share,
        step,
        scheduled,
        action,
        updated,
        on,
        checks,
      };
      days.push(result);
      return result;
    };

    await merge(
      `Merged: ${RAMPED} with rollout_schedule ${[1, 10, 50, 100].join(' → ')} % from ${startText}, rings: [canary]`,
      at(0, -1),
    );
    await day(0, 'signed 1 h before the start');
    await day(1, null);
    await day(2, null);
    await merge(`Pause ${RAMPED}`, at(2, 6), ['pause', RAMPED]);
    pausedAt = new Date(at(2, 6).getTime()).toISOString();
    days.at(-1)!.action = `paused at ${pausedAt.slice(11, 16)} (after the checks)`;
    await day(3, null);
    await merge(`Resume ${RAMPED} at 100 %`, at(4, 1), ['rollout', RAMPED, '100']);
    await day(4, 'resumed: rollout 2.0.0 100');
    const result: RampResult = {
      start: startText,
      days,
      pausedAt,
      fleet: fleet.devices.map((d) => d.id),
      helperPids: fleet.helperPids,
    };
    out(`\n${textTable(DAY_HEADER, dayRows(result))}`);
    writeFileSync(join(opts.dir, 'SUMMARY.md'), markdownSummary(result));
    return result;
  } finally {
    await fleet.stopHelpers();
    await stage.close();
  }
}

const DAY_HEADER = [
  'day',
  'checked at (UTC)',
  'manifest',
  'share in force',
  'updated that day',
  'on 2.0.0',
  'pipeline',
];

function dayRows(r: RampResult): Row[] {
  let sequence = 0;
  return r.days.map((d) => {
    const republished = d.manifest.sequence !== sequence;
    sequence = d.manifest.sequence;
    const ways = new Map<string, number>();
    for (const via of d.updated.values()) ways.set(via, (ways.get(via) ?? 0) + 1);
    return [
      d.day,
      d.at.slice(5, 16).replace('T', ' '),
      republished ? `seq …${String(d.manifest.sequence).slice(-4)}` : 'same (no publish)',
      `${d.share} %${d.share !== d.scheduled ? ` (paused; schedule: ${d.scheduled} %)` : ''}`,
      d.updated.size === 0 ? '0' : `${d.updated.size} (${[...ways].map(([w, n]) => `${w} ${n}`).join(', ')})`,
      `${d.on} of ${r.fleet.length}`,
      d.action ?? '',
    ];
  });
}

export function summarizeRamp(r: RampResult): string[] {
  const [d0, , , d3, d4] = r.days;
  if (d0 === undefined || d3 === undefined || d4 === undefined) return ['(incomplete)'];
  const ring = [...d0.updated].filter(([, via]) => via.startsWith('ring')).map(([id]) => id);
  return [
    `Day 0: the canary ring (${ring.join(', ')}) took ${RAMPED} at a share of ${d0.share} %; then ${r.days
      .slice(0, 3)
      .map((d) => `${d.share} %: ${d.on} Macs`)
      .join(', ')}, with one signed manifest (no publish for the ramp).`,
    `The pause on day 2 held ${d3.share} %: on day 3 (schedule: ${d3.scheduled} %) ${d3.updated.size} Macs moved; resumed on day 4, ${d4.on} of ${r.fleet.length} run ${RAMPED}.`,
  ];
}

function markdownSummary(r: RampResult): string {
  const bars = r.days.map((d) => Math.round((d.on * 100) / r.fleet.length));
  return [
    '# A rollout that ramps by itself (npm start -- --story ramp)',
    '',
    markdownTable(DAY_HEADER, dayRows(r)),
    '```mermaid',
    'xychart-beta',
    `  title "${RAMPED}: share in force (line) and Macs on it (bars, % of ${r.fleet.length})"`,
    `  x-axis [${r.days.map((d) => `"day ${d.day}"`).join(', ')}]`,
    '  y-axis "%" 0 --> 100',
    `  bar [${bars.join(', ')}]`,
    `  line [${r.days.map((d) => d.share).join(', ')}]`,
    '```',
    '',
    ...summarizeRamp(r).map((l) => `- ${l}`),
    '',
  ].join('\n');
}
