/**
 * The stories `npm start` tells, by name (`npm start -- --story <name>`): each runs in its own
 * folder, returns what it says at the end, and names the files worth reading afterwards.
 */
import { join } from 'node:path';
import { runBadUpdaterStory, summarizeBadUpdater } from './bad-updater.js';
import { runGuardStory, summarizeGuard } from './guard.js';
import { runMixedFleet, summarizeMixedFleet } from './mixed-fleet.js';
import { runRamp, summarizeRamp } from './ramp.js';
import { runScenario, summarizeScenario } from './scenario.js';

export interface StoryRun {
  /** what happened, a line per point */
  summary: string[];
  /** files worth reading afterwards: [path, what] */
  readNext: [string, string][];
}

export interface DemoStory {
  name: string;
  /** one line for --list */
  what: string;
  run(dir: string, out: (text: string) => void): Promise<StoryRun>;
}

export const STORIES: readonly DemoStory[] = [
  {
    name: 'basics',
    what: '20 Macs (spec 1): a first release, a staged rollout at 25 %, a yank by git revert, a forced update, a yank under fire',
    run: async (dir, out) => ({
      summary: summarizeScenario(await runScenario({ dir, out })),
      readNext: [
        [join(dir, 'fleet', 'mac-01', 'agent.log'), 'the SelfUpdate: lines of one Mac'],
        [join(dir, 'fleet', 'mac-01', 'helper.log'), 'what its helper verified and installed'],
        [join(dir, 'bucket', 'latest.json'), 'the signed manifest (history/ beside it keeps every one)'],
        [join(dir, 'repo'), 'the release repository: try "git log -p releases/" there'],
      ],
    }),
  },
  {
    name: 'mixed-fleet',
    what: 'manifest spec 2 on macOS 12 to 15, Intel and Apple silicon (one agent under Rosetta): per-arch packages, a floor that leaves macOS 12 unsupported (not blocked), a hotfix that rescues every Mac on a bad build',
    run: async (dir, out) => ({
      summary: summarizeMixedFleet(await runMixedFleet({ dir, out })),
      readNext: [
        [join(dir, 'SUMMARY.md'), 'the tables of each round'],
        [join(dir, 'fleet', 'mac-01', 'agent.log'), 'a macOS 12 Mac: unsupported, not blocked'],
        [join(dir, 'fleet', 'mac-14', 'agent.log'), 'the x86_64 agent under Rosetta, taking the arm64 packages'],
        [
          join(dir, 'bucket', 'v2', 'latest.json'),
          'the spec-2 manifest (latest.json beside it: what spec-1 readers get)',
        ],
      ],
    }),
  },
  {
    name: 'ramp',
    what: 'a rollout_schedule 1 → 10 → 50 → 100 % over simulated days: the canary ring on day 0, no publish for the ramp, a pause on day 2 that holds the share',
    run: async (dir, out) => ({
      summary: summarizeRamp(await runRamp({ dir, out })),
      readNext: [
        [join(dir, 'SUMMARY.md'), 'the days as a table and a Mermaid chart'],
        [join(dir, 'fleet', 'mac-01', 'agent.log'), 'a canary: "this device in ring canary" on day 0'],
        [join(dir, 'repo', 'releases', '2.0.0.yaml'), 'the release file after pause and resume ("git log -p" there)'],
      ],
    }),
  },
  {
    name: 'guard',
    what: 'closing the loop: 1.0.4 fails to install on 30 % of the Macs; they report with their checkin, mngd-release guard halts it after the first attempts, the rest never take it; mngd-release status',
    run: async (dir, out) => ({
      summary: summarizeGuard(await runGuardStory({ dir, out })),
      readNext: [
        [join(dir, 'repo', 'releases', '1.0.4.yaml'), 'the halt the guard wrote, with the evidence'],
        [join(dir, 'fleet', 'mac-04', 'agent.log'), 'a Mac whose install failed, and its checkin'],
      ],
    }),
  },
  {
    name: 'bad-updater',
    what: 'the health gate: 1.0.4 breaks the updater (never checks in); every Mac that took it is back on 1.0.3 by itself at the deadline (timed), the guard halts 1.0.4 on the rollbacks',
    run: async (dir, out) => ({
      summary: summarizeBadUpdater(await runBadUpdaterStory({ dir, out })),
      readNext: [
        [join(dir, 'fleet', 'mac-01', 'helper.log'), 'the rollback, as the helper logged it'],
        [join(dir, 'fleet', 'mac-01', 'agent.log'), "the 1.0.3 agent queuing the helper's rollback event"],
      ],
    }),
  },
];
