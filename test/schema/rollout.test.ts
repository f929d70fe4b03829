import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bucket } from '../../schema/choose.js';
import { choose2 } from '../../schema/choose2.js';
import {
  evaluationTime,
  parseDuration,
  pausedAt,
  scheduleProblems,
  scheduleSteps,
  shareAt,
  stepAt,
  type Schedule,
} from '../../schema/rollout.js';

const START = '2026-12-07T09:00:00Z';
const RAMP: Schedule = {
  start: START,
  steps: [{ percent: 1, hold: '24h' }, { percent: 10, hold: '48h' }, { percent: 50, hold: '7d' }, { percent: 100 }],
};
const H = 3_600_000;
const t0 = Date.parse(START);

/** Random valid schedules: strictly increasing shares ending at 100, holds of 1-240 hours. */
const schedules = fc
  .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 5 })
  .chain((ps) =>
    fc.record({
      start: fc.integer({ min: 0, max: 10_000 }).map((h) => new Date(t0 + h * H).toISOString().replace('.000Z', 'Z')),
      holds: fc.array(fc.integer({ min: 1, max: 240 }), { minLength: ps.length, maxLength: ps.length }),
      ps: fc.constant([...ps].sort((a, b) => a - b)),
    }),
  )
  .map(({ start, holds, ps }): Schedule => ({
    start,
    steps: [...ps.map((percent, i) => ({ percent, hold: `${holds[i]}h` })), { percent: 100 }],
  }));

describe('rollout schedules', () => {
  it('turn into absolute steps, 0 % until the start', () => {
    assert.deepEqual(scheduleSteps(RAMP), [
      { at: null, percent: 0 },
      { at: '2026-12-07T09:00:00Z', percent: 1 },
      { at: '2026-12-08T09:00:00Z', percent: 10 },
      { at: '2026-12-10T09:00:00Z', percent: 50 },
      { at: '2026-12-17T09:00:00Z', percent: 100 },
    ]);
    assert.deepEqual(scheduleProblems(RAMP), []);
  });

  it('read durations in minutes, hours and days only', () => {
    assert.equal(parseDuration('30m'), 30 * 60_000);
    assert.equal(parseDuration('24h'), 24 * H);
    assert.equal(parseDuration('7d'), 7 * 24 * H);
    for (const bad of ['1w', '24', 'h', '0h', '1.5h', '-1h', ' 1h']) assert.equal(parseDuration(bad), null, bad);
  });

  it('name every problem with the fix', () => {
    const bad: Schedule = {
      start: '2026-12-07T09:00:00+01:00',
      steps: [{ percent: 10, hold: '1w' }, { percent: 5, hold: '24h' }, { percent: 90, hold: '61d' }, { percent: 95 }],
    };
    const rules = new Map(scheduleProblems(bad).map((p) => [p.rule, p]));
    assert.deepEqual([...rules.keys()].sort(), ['end', 'hold', 'length', 'order', 'start']);
    assert.match(rules.get('start')!.message, /not a time in UTC.*convert it to UTC/);
    assert.match(rules.get('hold')!.message, /"1w".*m, h or d \(30m, 24h, 7d\): write a week as 7d/);
    assert.equal(rules.get('hold')!.step, 0);
    assert.match(rules.get('order')!.message, /step 2 is 5 %, not above step 1's 10 %.*raise it above 10/);
    assert.match(rules.get('end')!.message, /last step is 95 %; expected 100/);
    assert.match(rules.get('length')!.message, /add up to 62d; expected at most 60 days/);
    assert.ok(
      scheduleProblems({ start: START, steps: [{ percent: 100, hold: '1h' }] }).some((p) => p.field === 'hold'),
    );
  });

  it('shareAt: 0 before the start, exact at each boundary, monotone, 100 at the end (property)', () => {
    fc.assert(
      fc.property(schedules, fc.integer({ min: -100, max: 20_000 }), fc.integer({ min: 0, max: 20_000 }), (s, a, b) => {
        const steps = scheduleSteps(s);
        assert.equal(shareAt(steps, Date.parse(s.start) - 1), 0);
        for (const step of steps.slice(1)) {
          assert.equal(shareAt(steps, Date.parse(step.at!)), step.percent);
          assert.ok(shareAt(steps, Date.parse(step.at!) - 1) < step.percent);
        }
        const [x, y] = [t0 + a * H, t0 + (a + b) * H];
        assert.ok(shareAt(steps, x) <= shareAt(steps, y));
        assert.equal(shareAt(steps, Date.parse(steps.at(-1)!.at!) + 1), 100);
      }),
      { numRuns: 500 },
    );
  });

  it('a pause holds the share in force when it was taken, for ever, and never brings a later step forward', () => {
    const steps = scheduleSteps(RAMP);
    const paused = pausedAt(steps, t0 + 30 * H);
    assert.deepEqual(paused, steps.slice(0, 3));
    for (const t of [t0 + 30 * H, t0 + 100 * H, t0 + 1000 * H]) assert.equal(shareAt(paused, t), 10);
    fc.assert(
      fc.property(
        schedules,
        fc.integer({ min: -100, max: 20_000 }),
        fc.integer({ min: -100, max: 20_000 }),
        (s, p, x) => {
          const all = scheduleSteps(s);
          const [tp, t] = [t0 + p * H, t0 + x * H];
          const cut = pausedAt(all, tp);
          // constant from the pause on, and never above the schedule itself at any time
          assert.equal(shareAt(cut, Math.max(t, tp)), shareAt(all, tp));
          assert.ok(shareAt(cut, t) <= shareAt(all, t));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stepAt names the step in force and when the next starts', () => {
    const steps = scheduleSteps(RAMP);
    assert.deepEqual(stepAt(steps, t0 + 30 * H), { index: 2, next: '2026-12-10T09:00:00Z' });
    assert.deepEqual(stepAt(steps, t0 - 1), { index: 0, next: START });
    assert.deepEqual(stepAt(steps, t0 + 10_000 * H), { index: 4, next: null });
  });

  it('a clock a year ahead gets no more than the share at expires_at', () => {
    const steps = scheduleSteps(RAMP);
    const published = '2026-12-07T10:00:00Z';
    const expires = '2026-12-09T10:00:00Z';
    const yearAhead = Date.parse(published) + 365 * 24 * H;
    const t = evaluationTime(yearAhead, published, expires);
    assert.equal(t, Date.parse(expires));
    assert.equal(shareAt(steps, t), 10);
    assert.equal(evaluationTime(0, published, expires), Date.parse(published));
  });

  it('over 100,000 devices the realised share is within ±0.5 points of each step', () => {
    const steps = scheduleSteps(RAMP);
    const buckets = Array.from({ length: 100_000 }, (_, i) => bucket(`device-${i}`, '1.0.4'));
    for (const step of steps.slice(1)) {
      const share = shareAt(steps, Date.parse(step.at!));
      const realised = (buckets.filter((b) => b < share).length / buckets.length) * 100;
      assert.ok(Math.abs(realised - share) <= 0.5, `step ${share} %: realised ${realised.toFixed(2)} %`);
    }
  });

  it('raising a step only ever adds devices, and so does time: the offered set never shrinks (property)', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `mac-${i}`);
    const offered = (steps: ReturnType<typeof scheduleSteps>, t: number) =>
      new Set(ids.filter((id) => bucket(id, '1.0.4') < shareAt(steps, t)));
    const subset = (a: Set<string>, b: Set<string>) => [...a].every((id) => b.has(id));
    fc.assert(
      fc.property(
        schedules,
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: -10, max: 2_000 }),
        fc.integer({ min: 0, max: 2_000 }),
        (s, pick, by, a, b) => {
          const i = pick % s.steps.length;
          const cur = s.steps[i]!.percent;
          const ceiling = i + 1 < s.steps.length ? s.steps[i + 1]!.percent - 1 : 100;
          const raised: Schedule = {
            ...s,
            steps: s.steps.map((st, j) => (j === i ? { ...st, percent: cur + Math.floor((ceiling - cur) * by) } : st)),
          };
          assert.deepEqual(scheduleProblems(raised), []);
          const [t1, t2] = [t0 + a * H, t0 + (a + b) * H];
          assert.ok(subset(offered(scheduleSteps(s), t1), offered(scheduleSteps(raised), t1)), 'raised step');
          assert.ok(subset(offered(scheduleSteps(s), t1), offered(scheduleSteps(s), t2)), 'later time');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('choose2 with a device clock a year ahead offers no more than the share at expires_at (property)', () => {
    const published = '2026-12-07T10:00:00Z';
    const expires = '2026-12-21T10:00:00Z';
    fc.assert(
      fc.property(schedules, fc.string({ minLength: 1, maxLength: 12 }), (s, id) => {
        const rollout = scheduleSteps(s);
        const m = {
          published_at: published,
          expires_at: expires,
          min_required_version: null,
          releases: [
            {
              version: '1.0.4',
              artifacts: [{ arch: 'universal' as const }],
              requires: { macos_min: null, macos_max: null },
              rollout,
            },
          ],
          rings: {},
          ring_salt: 'ab'.repeat(16),
          rescue_from: [],
        };
        const device = { deviceId: id, current: '1.0.0', macos: '14.6', hwArch: 'arm64' as const };
        const ahead = choose2(m, { ...device, clock: Date.parse(published) + 365 * 24 * H });
        const atExpiry = shareAt(rollout, Date.parse(expires));
        assert.equal(ahead.t, Date.parse(expires));
        assert.equal(ahead.target !== null, bucket(id, '1.0.4') < atExpiry);
      }),
      { numRuns: 300 },
    );
  });
});
