/**
 * Rollout schedules. A release file declares `{start, steps: [{percent, hold}], …}`; the manifest
 * carries absolute steps `[{at, percent}]` (the first with `at: null`), and every reader evaluates
 * `shareAt(steps, t)` at `t = clamp(device clock, published_at, expires_at)`: no publish is needed
 * for the ramp, and a clock running ahead cannot take the ramp beyond what the pipeline signed.
 */
export interface RolloutStep {
  /** RFC 3339 UTC; null for the first step (in force since forever) */
  at: string | null;
  percent: number;
}

export interface ScheduleStep {
  percent: number;
  /** how long this step holds before the next: `30m`, `24h`, `7d`; absent on the last step */
  hold?: string;
}

export interface Schedule {
  start: string;
  steps: readonly ScheduleStep[];
  /** set by `mngd-release pause`: the ramp stops here, holding the share in force then (RFC 3339 UTC) */
  paused_at?: string | undefined;
}

/** What a release says about its share: a fixed `rollout_percent`, or a `rollout_schedule`. */
export interface RolloutSource {
  rollout_percent?: number | undefined;
  rollout_schedule?: Schedule | undefined;
}

export const DURATION_PATTERN = '^[1-9][0-9]{0,4}[mhd]$';
export const MAX_SCHEDULE_MS = 60 * 24 * 3600 * 1000;
/** steps of a schedule; with the 0 % step before the start a manifest's rollout stays within its 32 */
export const MAX_SCHEDULE_STEPS = 20;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A schedule's times: RFC 3339 in UTC, to the minute or the second (2026-12-07T09:00Z, …09:00:00Z). */
export const SCHEDULE_TIME_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?Z$';
const RFC3339_UTC = new RegExp(SCHEDULE_TIME_PATTERN);

/** `30m`, `24h`, `7d` in milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  if (!new RegExp(DURATION_PATTERN).test(text)) return null;
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS];
}

/** The share in force at `t` (ms since the epoch): the last step whose `at` is at or before it. */
export function shareAt(steps: readonly RolloutStep[], t: number): number {
  let share = 0;
  for (const s of steps) {
    if (s.at !== null && Date.parse(s.at) > t) break;
    share = s.percent;
  }
  return share;
}

/** Which step is in force at `t` (0-based), and when the next one starts (null: none). */
export function stepAt(steps: readonly RolloutStep[], t: number): { index: number; next: string | null } {
  let index = 0;
  for (let i = 0; i < steps.length; i++) {
    const at = steps[i]!.at;
    if (at !== null && Date.parse(at) > t) return { index, next: at };
    index = i;
  }
  return { index, next: null };
}

/** The time a manifest is evaluated at: the device clock, clamped into the manifest's validity. */
export function evaluationTime(clock: number, publishedAt: string, expiresAt: string): number {
  return Math.min(Math.max(clock, Date.parse(publishedAt)), Date.parse(expiresAt));
}

/** A fixed share: what `rollout_percent` and a pause publish. */
export function fixedRollout(percent: number): RolloutStep[] {
  return [{ at: null, percent }];
}

export type ScheduleRule = 'start' | 'empty' | 'order' | 'end' | 'hold' | 'last_hold' | 'length' | 'paused_at';

export interface ScheduleProblem {
  /** which rule: tests and the problem codes key on this, not the words */
  rule: ScheduleRule;
  /** index of the step at fault, or null for the schedule as a whole */
  step: number | null;
  field: 'start' | 'steps' | 'percent' | 'hold' | 'paused_at';
  /** what is wrong, what is expected, and the fix */
  message: string;
}

const isUtc = (text: string) => RFC3339_UTC.test(text) && !Number.isNaN(Date.parse(text));

/** Every problem of a schedule, each with the fix (empty: valid). */
export function scheduleProblems(s: Schedule): ScheduleProblem[] {
  const out: ScheduleProblem[] = [];
  if (!isUtc(s.start))
    out.push({
      rule: 'start',
      step: null,
      field: 'start',
      message: `start ${JSON.stringify(s.start)} is not a time in UTC; expected RFC 3339 ending in Z, e.g. 2026-12-07T09:00:00Z: convert it to UTC (09:00+01:00 is 08:00Z)`,
    });
  if (s.steps.length === 0)
    out.push({
      rule: 'empty',
      step: null,
      field: 'steps',
      message:
        'the schedule has no steps; expected at least one, the last at 100: e.g. - {percent: 10, hold: 24h} then - {percent: 100}',
    });
  let total = 0;
  s.steps.forEach((step, i) => {
    const last = i === s.steps.length - 1;
    const before = s.steps[i - 1];
    if (before !== undefined && step.percent <= before.percent)
      out.push({
        rule: 'order',
        step: i,
        field: 'percent',
        message: `step ${i + 1} is ${step.percent} %, not above step ${i}'s ${before.percent} %; expected shares that strictly increase: raise it above ${before.percent} or remove the step`,
      });
    if (last && step.percent !== 100)
      out.push({
        rule: 'end',
        step: i,
        field: 'percent',
        message: `the last step is ${step.percent} %; expected 100: add a last step - {percent: 100} (for a share that stays below 100, use rollout_percent instead)`,
      });
    if (!last) {
      const ms = step.hold === undefined ? null : parseDuration(step.hold);
      if (ms === null)
        out.push({
          rule: 'hold',
          step: i,
          field: 'hold',
          message:
            step.hold === undefined
              ? `step ${i + 1} has no hold; expected how long it holds before the next step, a whole number of minutes, hours or days (30m, 24h, 7d): add hold: 24h`
              : `step ${i + 1}'s hold ${JSON.stringify(step.hold)} is not a duration this reads; expected a whole number and the unit m, h or d (30m, 24h, 7d): write a week as 7d`,
        });
      else total += ms;
    } else if (step.hold !== undefined) {
      out.push({
        rule: 'last_hold',
        step: i,
        field: 'hold',
        message: 'the last step holds for ever; expected no hold on it: remove its hold',
      });
    }
  });
  if (s.paused_at !== undefined && !isUtc(s.paused_at))
    out.push({
      rule: 'paused_at',
      step: null,
      field: 'paused_at',
      message: `paused_at ${JSON.stringify(s.paused_at)} is not a time in UTC; expected RFC 3339 ending in Z as mngd-release pause writes it, e.g. 2026-12-09T14:05:00Z`,
    });
  if (total > MAX_SCHEDULE_MS)
    out.push({
      rule: 'length',
      step: null,
      field: 'steps',
      message: `the holds add up to ${formatDuration(total)}; expected at most 60 days: shorten the holds, or ramp in two releases`,
    });
  return out;
}

/** A duration as the schedule writes it, largest whole unit: 7d, 36h, 90m. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / UNIT_MS.m)}m`;
}

/** The manifest's absolute steps for a valid schedule: 0 % until `start`, then each step in turn. */
export function scheduleSteps(s: Schedule): RolloutStep[] {
  const out: RolloutStep[] = [{ at: null, percent: 0 }];
  let at = Date.parse(s.start);
  for (const step of s.steps) {
    out.push({ at: new Date(at).toISOString().replace(/\.000Z$/, 'Z'), percent: step.percent });
    at += step.hold === undefined ? 0 : (parseDuration(step.hold) ?? 0);
  }
  return out;
}

/**
 * A pause at `t`: the steps that started by then, and no later one, so the share in force at `t`
 * holds until resumed. Never more than the schedule itself at any time: a pause stamped ahead of
 * the publish (a laptop clock, a hand-written time) cannot bring a later step forward, which a
 * single fixed step of the share at `t` would; and readers still see which step holds and since when.
 */
export function pausedAt(steps: readonly RolloutStep[], t: number): RolloutStep[] {
  const kept = steps.filter((s) => s.at === null || Date.parse(s.at) <= t);
  return kept.length > 0 ? kept : fixedRollout(0);
}

/**
 * The one place a release's share is read from (manifests of both specs, the table, the plan):
 * a schedule's absolute steps (cut at its pause), or the fixed `rollout_percent` (default 100).
 */
export function rolloutStepsOf(r: RolloutSource): RolloutStep[] {
  const s = r.rollout_schedule;
  if (s === undefined) return fixedRollout(r.rollout_percent ?? 100);
  const steps = scheduleSteps(s);
  return s.paused_at === undefined ? steps : pausedAt(steps, Date.parse(s.paused_at));
}

/** The share of a release in force at `t` (ms since the epoch). */
export function shareOf(r: RolloutSource, t: number): number {
  return shareAt(rolloutStepsOf(r), t);
}

/**
 * Offered to anyone ever: false for a share of 0 for good (`rollout_percent: 0`, a schedule paused
 * before its start), the hard stop that neither a ring nor a floor overrides. A schedule that has
 * not started yet is live.
 */
export function isLive(steps: readonly RolloutStep[]): boolean {
  return steps.some((s) => s.percent > 0);
}

/** `2026-12-03T09:00:00Z` as `2026-12-03T09:00Z` (seconds only when they are not 0). */
function shortTime(at: string): string {
  return at.replace(/:00Z$/, 'Z');
}

/**
 * The share in force at `t` and its step, for a log line: `rollout 10 %` (a fixed share),
 * `step 2 of 4: 10 % since 2026-12-03T09:00Z`, `not started: 0 % until 2026-12-03T09:00Z`.
 * A schedule's leading 0 % (before its start) is not one of its steps.
 */
export function describeShareAt(steps: readonly RolloutStep[], t: number): string {
  const { index } = stepAt(steps, t);
  const share = steps[index]!.percent;
  const leadingZero = steps.length > 1 && steps[0]!.percent === 0 && steps[0]!.at === null;
  const count = leadingZero ? steps.length - 1 : steps.length;
  if (count === 1 && !leadingZero) return `rollout ${share} %`;
  if (leadingZero && index === 0) return `not started: 0 % until ${shortTime(steps[1]!.at!)}`;
  const at = steps[index]!.at;
  const n = leadingZero ? index : index + 1;
  return `step ${n} of ${count}: ${share} %${at === null ? '' : ` since ${shortTime(at)}`}`;
}
