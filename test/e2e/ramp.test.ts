/**
 * `npm start -- --story ramp` as an end-to-end test (issue 17): a rollout_schedule over simulated
 * days, with the agents, the helpers and the pipeline on one simulated clock. Which Macs run 2.0.0
 * each day is worked out here from the contract (the ring's members, and the bucket function
 * against the share in force), independently of the agents' choice.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bucket } from '../../schema/choose.js';
import { CANARY, RAMPED, runRamp, type RampResult } from '../../scripts/demo/ramp.js';
import { runStory } from './story.js';

/** 10 of the 20 Macs: the ring (mac-01, 02, 04), the 10 % cohort (mac-13), some of the 50 % (mac-03, 05, 12), and some outside it. */
const SUBSET = ['mac-01', 'mac-02', 'mac-03', 'mac-04', 'mac-05', 'mac-07', 'mac-08', 'mac-09', 'mac-12', 'mac-13'];

let result: RampResult;
let output = '';
let dir: string;

/** The share in force at each day's checks: the ramp, then the pause holding 50 %, then 100 %. */
const SHARES = [1, 10, 50, 50, 100];

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : [join(d, n)]));
}

describe('a rollout that ramps by itself over simulated days (npm start -- --story ramp)', () => {
  before(async () => {
    ({ result, dir, output } = await runStory('ramp', SUBSET, runRamp));
  });

  it('realises the share in force each day: exactly the ring and the cohort below the share run 2.0.0', () => {
    assert.deepEqual(
      result.days.map((d) => d.share),
      SHARES,
      output,
    );
    const on = new Set<string>();
    for (const d of result.days) {
      for (const id of d.updated.keys()) on.add(id);
      const expected = result.fleet.filter((id) => CANARY.includes(id) || bucket(id, RAMPED) < d.share);
      assert.deepEqual([...on].sort(), expected, `day ${d.day}\n${output}`);
      assert.equal(d.on, expected.length);
    }
    assert.equal(result.days.at(-1)!.on, result.fleet.length);
  });

  it('puts the canary ring on 2.0.0 on day 0, whatever the 1 % of the schedule', () => {
    const d0 = result.days[0]!;
    for (const id of CANARY) assert.equal(d0.updated.get(id), 'ring canary', `${id}\n${output}`);
    assert.match(
      readFileSync(join(dir, 'fleet', CANARY[0]!, 'agent.log'), 'utf8'),
      /step 1 of 4: 1 % since .*this device in ring canary/,
    );
  });

  it('ramps with no publish: days 0 to 2 verify the one manifest signed before the start', () => {
    const [d0, d1, d2] = result.days;
    assert.ok(Date.parse(d0!.manifest.published_at) < Date.parse(result.start));
    assert.equal(d1!.manifest.sequence, d0!.manifest.sequence);
    assert.equal(d2!.manifest.sequence, d0!.manifest.sequence);
    for (const d of [d0!, d1!, d2!])
      for (const c of d.checks) assert.equal(c.result?.manifest?.sequence, d0!.manifest.sequence, output);
  });

  it('holds the share after the pause on day 2: nobody moves on day 3 though the schedule says 100 %', () => {
    const d3 = result.days[3]!;
    assert.equal(d3.scheduled, 100);
    assert.equal(d3.share, 50);
    assert.equal(d3.updated.size, 0, output);
    assert.ok(d3.checks.length > 0 && d3.checks.every((c) => c.result?.outcome === 'up-to-date'), output);
    const paused = Date.parse(result.pausedAt ?? '');
    assert.ok(Date.parse(result.days[2]!.at) < paused && paused < Date.parse(d3.at), 'paused on day 2');
    assert.match(readFileSync(join(dir, 'repo', 'releases', '2.0.0.yaml'), 'utf8'), /rollout_percent: 100/);
  });

  it('publishes no plain device id', () => {
    for (const f of files(join(dir, 'bucket')))
      for (const id of result.fleet) assert.ok(!readFileSync(f, 'utf8').includes(id), `${id} in ${f}`);
  });

  it('leaves nothing running', () => {
    assert.equal(result.helperPids.length, result.fleet.length);
    for (const pid of result.helperPids)
      assert.throws(
        () => process.kill(pid, 0),
        (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
        `helper ${pid} still runs`,
      );
  });
});
