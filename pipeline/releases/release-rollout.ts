/**
 * Who a release is offered to, in one release file (pure): `rollout_percent` or `rollout_schedule`
 * (not both), and `rings`; each problem at the line of the step, key or ring at fault, with the
 * fix. The schedule's own rules live in schema/rollout.ts (scheduleProblems); this places them.
 */
import type { ErrorObject } from 'ajv';
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import { scheduleProblems, type Schedule, type ScheduleProblem, type ScheduleRule } from '../../schema/rollout.js';
import type { Policy } from '../../schema/types.js';
import { closest } from '../../schema/suggest.js';
import type { Position } from './release-set.js';
import { positionAtPath, type YamlSource } from './yaml-source.js';

export interface FieldProblem {
  code: ReleaseProblemCode;
  pos: Position;
  message: string;
}

const RULE_CODES: Record<ScheduleRule, ReleaseProblemCode> = {
  start: 'RELEASE_SCHEDULE_START',
  empty: 'RELEASE_BAD_ROLLOUT_SCHEDULE',
  order: 'RELEASE_SCHEDULE_ORDER',
  end: 'RELEASE_SCHEDULE_END',
  hold: 'RELEASE_SCHEDULE_HOLD',
  last_hold: 'RELEASE_SCHEDULE_HOLD',
  length: 'RELEASE_SCHEDULE_TOO_LONG',
  paused_at: 'RELEASE_SCHEDULE_PAUSED_AT',
};

export const SCHEDULE_EXPECTED =
  'a map with start (UTC, e.g. "2026-12-07T09:00:00Z") and steps, each - {percent: 1-100, hold: 30m|24h|7d}, shares strictly increasing, the last - {percent: 100} without hold';

/** Patterns of these keys are explained by scheduleProblems, with the fix, instead of Ajv's words. */
const EXPLAINED = new Set(['start', 'hold', 'paused_at']);

function schedulePath(p: ScheduleProblem): (string | number)[] {
  if (p.step === null) return ['rollout_schedule', p.field];
  return ['rollout_schedule', 'steps', p.step, p.field];
}

/**
 * Problems of the share fields. `errors`: Ajv's errors under /rollout_schedule (the caller leaves
 * them to this); the schedule's rules run once its shape is right.
 */
export function rolloutFieldProblems(
  src: YamlSource,
  data: Record<string, unknown>,
  errors: readonly ErrorObject[],
): FieldProblem[] {
  const out: FieldProblem[] = [];
  const at = (path: (string | number)[]): Position => {
    for (let n = path.length; n > 0; n--) {
      const pos = positionAtPath(src, path.slice(0, n));
      if (pos !== null) return pos;
    }
    return { line: 1, column: 1 };
  };
  if (data['rollout_percent'] !== undefined && data['rollout_schedule'] !== undefined)
    out.push({
      code: 'RELEASE_ROLLOUT_BOTH',
      pos: at(['rollout_percent']),
      message:
        'the release has both rollout_percent and rollout_schedule; expected one: remove rollout_percent (the schedule sets the share at each time, and ends at 100)',
    });
  if (data['rollout_schedule'] === undefined) return out;

  let shaped = true;
  for (const e of errors) {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const leaf = path[path.length - 1];
    if (e.keyword === 'pattern' && typeof leaf === 'string' && EXPLAINED.has(leaf)) continue;
    shaped = false;
    const name = path
      .slice(1)
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
      .join('');
    const what =
      e.keyword === 'additionalProperties'
        ? `has an unknown key "${String(e.params['additionalProperty'])}"`
        : e.keyword === 'required'
          ? `has no ${String(e.params['missingProperty'])}`
          : (e.message ?? e.keyword);
    const where = e.keyword === 'additionalProperties' ? [...path, String(e.params['additionalProperty'])] : path;
    out.push({
      code: 'RELEASE_BAD_ROLLOUT_SCHEDULE',
      pos: at(where),
      message: `rollout_schedule${name} ${what}; expected ${SCHEDULE_EXPECTED}`,
    });
  }
  if (!shaped) return out;
  for (const p of scheduleProblems(data['rollout_schedule'] as Schedule))
    out.push({ code: RULE_CODES[p.rule], pos: at(schedulePath(p)), message: `rollout_schedule: ${p.message}` });
  return out;
}

/** A ring a release names must be one of the policy's. */
export function ringFieldProblems(
  src: YamlSource,
  data: Record<string, unknown>,
  policy: Policy | null,
): FieldProblem[] {
  const names = data['rings'];
  if (policy === null || !Array.isArray(names)) return [];
  const known = Object.keys(policy.rings ?? {});
  const out: FieldProblem[] = [];
  names.forEach((name, i) => {
    if (typeof name !== 'string' || known.includes(name)) return;
    const guess = closest(name, known);
    out.push({
      code: 'RELEASE_UNKNOWN_RING',
      pos: positionAtPath(src, ['rings', i]) ?? { line: 1, column: 1 },
      message:
        known.length === 0
          ? `ring "${name}" is not defined: the policy has no rings; expected a ring of releases/policy.yaml: add rings: {${name}: {device_ids_file: rings/${name}.txt}} and ring_salt there, or remove it here`
          : `ring "${name}" is not in the policy${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${known.join(', ')}: fix the name, or add the ring to releases/policy.yaml`,
    });
  });
  return out;
}
