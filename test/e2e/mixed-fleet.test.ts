/**
 * `npm start -- --story mixed-fleet` as an end-to-end test (issue 16): 20 Macs on macOS 12 to 15,
 * Intel and Apple silicon, one x86_64 agent under Rosetta, each agent and helper reading spec 2
 * and its own facts. What each Mac takes is worked out here from the contract (macOS, hardware,
 * the bucket function), independently of the agent's choice.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucket } from '../../schema/choose.js';
import {
  BAD,
  BAD_SHARE,
  HOTFIX,
  runMixedFleet,
  type MixedFleetResult,
  type Round,
} from '../../scripts/demo/mixed-fleet.js';
import { runStory } from './story.js';

/**
 * 10 of the 20 Macs, every role kept: macOS 12 Intel and Apple silicon, the Mac whose helper is
 * down (mac-05), the bad build's cohort (mac-06, 10, 14 the Rosetta one, 16), the hotfix's own
 * cohort (mac-08, 13, 16), and a Mac in neither (mac-15).
 */
const SUBSET = ['mac-01', 'mac-04', 'mac-05', 'mac-06', 'mac-08', 'mac-10', 'mac-13', 'mac-14', 'mac-15', 'mac-16'];

let result: MixedFleetResult;
let output = '';
let dir: string;

const round = (i: number): Round => result.rounds[i]!;
const isOld = (id: string) => result.macs.get(id)!.macos.startsWith('12.');
const last = (r: Round, id: string) => r.checks.findLast((c) => c.device.id === id)!.result!;
const ids = () => [...result.macs.keys()];

describe('a mixed fleet on manifest spec 2 (npm start -- --story mixed-fleet)', () => {
  before(async () => {
    ({ result, dir, output } = await runStory('mixed', SUBSET, runMixedFleet));
  });

  it('gives each Mac on macOS 13 or later the package for its hardware (Rosetta: arm64); macOS 12 stays', () => {
    const r = round(0);
    assert.equal(r.applyExit, 0, output);
    assert.deepEqual(r.spec1, ['1.0.0'], 'spec-1 readers are never offered 1.1.0 (no universal package, macOS 13)');
    for (const id of ids()) {
      const mac = result.macs.get(id)!;
      const c = last(r, id);
      if (isOld(id)) {
        assert.deepEqual([c.outcome, r.after.get(id)], ['up-to-date', '1.0.0'], `${id}\n${output}`);
      } else {
        const arch = mac.kind === 'intel' ? 'x86_64' : 'arm64';
        assert.deepEqual([c.outcome, c.arch, r.after.get(id)], ['updated', arch, '1.1.0'], `${id}\n${output}`);
      }
    }
    assert.ok([...result.macs.values()].some((m) => m.kind === 'rosetta'));
  });

  it('raises the floor: macOS 12 Macs unsupported and never blocked, a Mac that can update blocked until it has', () => {
    const r = round(1);
    assert.equal(r.manifest.min_required_version, '1.2.0');
    assert.match(output, /FLOOR_DESUPPORTS.*leaves Macs below macOS 13\.0 behind/);
    for (const id of ids()) {
      const runs = r.checks.filter((c) => c.device.id === id);
      if (isOld(id)) {
        for (const c of runs) {
          assert.equal(c.result?.blocked, false, `${id}: never blocked\n${output}`);
          assert.match(c.result?.unsupported ?? '', /1\.2\.0/, id);
        }
        assert.equal(r.after.get(id), '1.0.0');
        assert.match(
          readFileSync(join(dir, 'fleet', id, 'agent.log'), 'utf8'),
          /unsupported, not blocked; checkin not blocked/,
        );
      } else {
        assert.equal(r.after.get(id), '1.2.0', `${id}\n${output}`);
      }
    }
    const stuck = r.checks.filter((c) => c.device.id === result.stuck);
    assert.deepEqual(
      stuck.map((c) => [c.result?.outcome, c.result?.code, c.result?.blocked]),
      [
        ['failed', 'HELPER_UNREACHABLE', true],
        ['updated', undefined, false],
      ],
      output,
    );
  });

  it('gives the hotfix to every Mac on the halted bad build, and beyond them only to its own cohort', () => {
    const bad = round(2);
    const hotfix = round(3);
    const onBad = ids().filter((id) => !isOld(id) && bucket(id, BAD) < BAD_SHARE);
    assert.deepEqual(
      ids().filter((id) => bad.after.get(id) === BAD),
      onBad,
      output,
    );
    // The rescue rule matters here: some Macs on the bad build are outside the hotfix's own cohort.
    const rescued = onBad.filter((id) => bucket(id, HOTFIX) >= BAD_SHARE);
    assert.ok(rescued.length > 0);
    assert.deepEqual(hotfix.manifest.rescue_from, [BAD]);
    assert.ok(!hotfix.manifest.releases.some((x) => x.version === BAD));
    for (const id of ids()) {
      const inCohort = !isOld(id) && bucket(id, HOTFIX) < BAD_SHARE;
      const expected = onBad.includes(id) || inCohort ? HOTFIX : hotfix.before.get(id);
      assert.equal(hotfix.after.get(id), expected, `${id}\n${output}`);
    }
    for (const id of rescued) assert.match(hotfix.via.get(id)!, /rescue: this device's 1\.4\.0 was yanked or halted/);
  });

  it('leaves nothing running', () => {
    assert.equal(result.helperPids.length, result.macs.size + 1); // one per Mac, and the restarted one
    for (const pid of result.helperPids)
      assert.throws(
        () => process.kill(pid, 0),
        (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
        `helper ${pid} still runs`,
      );
  });
});
