/**
 * The guard story (#18, "Closing the loop"): 1.0.4 goes out at 100 %, and its package fails to
 * install on 30 % of the Macs (the stand-in installer, told so by MNGD_DEMO_FAIL_VERSION). The
 * first Macs to check take it or fail, and report with their checkin to the stand-in mngd server;
 * `mngd-release guard` counts the failures against the policy's thresholds and halts 1.0.4, the
 * break-glass path publishes at once, and the rest of the fleet never takes it.
 * `mngd-release status` shows what happened.
 */
import type { ChannelStatus } from '../../pipeline/fleet/index.js';
import type { Device } from './fleet.js';
import { guardAndHalt, openWorld } from './world.js';

export const GUARD_STORY = 'A failing rollout halted by the guard';
const BAD = '1.0.4';

export interface GuardStoryOptions {
  dir: string;
  fleetSize?: number;
  databaseUrl?: string;
  out: (text: string) => void;
}

export interface GuardStoryResult {
  fleet: number;
  /** the Macs whose installer fails on 1.0.4 */
  failing: string[];
  /** the Macs that checked before the guard ran, and after */
  wave1: string[];
  wave2: string[];
  /** device -> version, after each wave */
  afterWave1: Map<string, string>;
  after: Map<string, string>;
  guardExit: number;
  /** the reason written into releases/1.0.4.yaml */
  haltReason: string | null;
  /** the manifest after the break-glass publish */
  offeredAfterHalt: string[];
  /** a second guard run: what it halted (nothing) */
  rerunHalts: number;
  status: ChannelStatus[];
  statusText: string;
  /** the helper and agent processes the story started (all stopped when it returns) */
  pids: number[];
  /** checkins the stand-in server took, and refused */
  checkins: number;
  refused: number;
}

/** 30 % of the Macs, spread over the fleet: mac-<i> fails where ⌊3i/10⌋ steps up (mac-04, mac-07, mac-10, …). */
export function failsOnBad(d: Device): boolean {
  const i = Number(/\d+$/.exec(d.id)?.[0] ?? 0);
  return Math.floor((3 * i) / 10) > Math.floor((3 * (i - 1)) / 10);
}

export async function runGuardStory(opts: GuardStoryOptions): Promise<GuardStoryResult> {
  const out = opts.out;
  const w = await openWorld({
    dir: opts.dir,
    fleetSize: opts.fleetSize ?? 10,
    initialVersion: '1.0.3',
    versions: ['1.0.3', BAD],
    policy: ['guard:', '  window: 1h', '  min_attempts: 4', '  max_failure_rate: 0.1', '  max_rollbacks: 2'],
    helperEnv: (d): Record<string, string> => (failsOnBad(d) ? { MNGD_DEMO_FAIL_VERSION: BAD } : {}),
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    out,
  });
  try {
    const devices = w.fleet.devices;
    const failing = new Set(devices.filter(failsOnBad).map((d) => d.id));
    const wave1 = devices.slice(0, Math.ceil(devices.length * 0.4));
    const wave2 = devices.slice(wave1.length);
    out(
      [
        `\n━━ ${GUARD_STORY} ━━`,
        `${devices.length} Macs run 1.0.3 and check in with a stand-in mngd server (${w.server.url}), which stores`,
        'their reports through the reference ingest. The policy guards: window 1h, min_attempts 4,',
        `max_failure_rate 10 %, max_rollbacks 2. 1.0.4 goes out at 100 %; its installer fails on ${failing.size} of ${devices.length} Macs`,
        `(${[...failing].join(', ')}).`,
        '',
      ].join('\n'),
    );
    w.release('1.0.3', { release_notes: 'The release every Mac runs today.' });
    w.git('add', '-A');
    w.git('commit', '-qm', 'Release 1.0.3');
    await w.cli(['apply', '--ca-file', w.caFile], true);
    w.release(BAD, { release_notes: 'New inventory collector.' });
    w.git('add', '-A');
    w.git('commit', '-qm', `Release ${BAD} to 100 %`);
    await w.cli(['apply', '--ca-file', w.caFile]);

    out(`\nThe first ${wave1.length} Macs check (their agents run as launchd runs them, and check in):\n`);
    await w.round(wave1, 4);
    const afterWave1 = w.fleet.versions();
    const took = wave1.filter((d) => afterWave1.get(d.id) === BAD);
    const failed = wave1.filter((d) => failing.has(d.id));
    out(
      `${took.length} took ${BAD}; ${failed.length} failed to install it (${failed.map((d) => d.id).join(', ') || 'none'}); every one checked in with its events.\n\n`,
    );

    out('The guard runs (every 15 minutes in production):\n');
    const { guardExit, haltReason, offeredAfterHalt } = await guardAndHalt(w, BAD);

    out(`\nThe other ${wave2.length} Macs check:\n`);
    await w.round(wave2, 4);
    const after = w.fleet.versions();
    const late = wave2.filter((d) => after.get(d.id) === BAD).length;
    out(`${late} of ${wave2.length} took ${BAD}.\n\nThe guard again, with nothing new to judge:\n`);
    const rerun = await w.cli(['guard', '--json'], true);
    const rerunHalts = (JSON.parse(rerun.text) as { halts: unknown[] }).halts.length;
    out(`  ${rerunHalts} halt(s): ${BAD} is not offered any more, so it is not judged again.\n\n`);
    const statusText = (await w.cli(['status'])).text;
    const status = (JSON.parse((await w.cli(['status', '--json'], true)).text) as { channels: ChannelStatus[] })
      .channels;
    return {
      fleet: devices.length,
      failing: [...failing],
      wave1: wave1.map((d) => d.id),
      wave2: wave2.map((d) => d.id),
      afterWave1,
      after,
      guardExit,
      haltReason,
      offeredAfterHalt,
      rerunHalts,
      status,
      statusText,
      checkins: w.server.checkins.length,
      refused: w.server.checkins.filter((c) => c.status !== 204).length,
      pids: w.pids(),
    };
  } finally {
    await w.close();
  }
}

/** What `npm start` says at the end. */
export function summarizeGuard(r: GuardStoryResult): string[] {
  const failed = r.wave1.filter((id) => r.failing.includes(id)).length;
  const took = [...r.after.values()].filter((v) => v === BAD).length;
  return [
    `${BAD} failed to install on ${failed} of the first ${r.wave1.length} Macs (its installer fails on ${r.failing.length} of ${r.fleet}); each reported with its checkin (${r.checkins} checkins stored).`,
    r.haltReason === null
      ? 'The guard halted nothing.'
      : `The guard halted ${BAD} (${r.haltReason.replace(/^"|"$/g, '')}).`,
    `None of the other ${r.wave2.length} took it: ${took} of ${r.fleet} Macs run ${BAD}; a rerun of the guard halted ${r.rerunHalts}.`,
  ];
}
