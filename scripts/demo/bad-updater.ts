/**
 * The bad-updater story (#19, the health gate): 1.0.4 "breaks the updater": launchd starts it,
 * and it never checks in (broken-agent.sh stands in for that build). Every Mac that took it gets
 * 1.0.3 back by itself: its helper kept 1.0.3's package, no health_ok came by the deadline, so it
 * reinstalls 1.0.3 and quarantines 1.0.4; the restarted 1.0.3 agent reports the rollback with its
 * checkin, the guard counts the rollbacks and halts 1.0.4, and the rest of the fleet never takes
 * it. Measured: the time from each Mac's deadline to 1.0.3 running again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelStatus } from '../../pipeline/fleet/index.js';
import type { ReportEvent } from '../../schema/types.js';
import type { Device } from './fleet.js';
import { guardAndHalt, openWorld, spread } from './world.js';

export const BAD_UPDATER_STORY = 'A release that breaks the updater, rolled back by the health gate';
const GOOD = '1.0.3';
const BAD = '1.0.4';

export interface BadUpdaterOptions {
  dir: string;
  fleetSize?: number;
  /** the helpers' --health-deadline, seconds */
  deadlineS?: number;
  databaseUrl?: string;
  out: (text: string) => void;
}

export interface RollbackTiming {
  device: string;
  /** the deadline: when the helper wrote pending (its log line) plus --health-deadline */
  deadline: number;
  /** when the helper acted on it (its "rollback" log line) */
  rolledBack: number;
  /** when the agent of 1.0.3 was running again (it told the helper it started) */
  running: number;
}

export interface BadUpdaterResult {
  fleet: number;
  deadlineS: number;
  wave1: string[];
  wave2: string[];
  /** device -> version after the first wave (every one of them back on 1.0.3) and at the end */
  afterWave1: Map<string, string>;
  after: Map<string, string>;
  /** device -> versions quarantined by its helper */
  quarantined: Map<string, string[]>;
  timings: RollbackTiming[];
  /** the rollback events the server stored, as reported */
  rollbacks: ReportEvent[];
  guardExit: number;
  haltReason: string | null;
  offeredAfterHalt: string[];
  status: ChannelStatus[];
  statusText: string;
  /** the helper and agent processes the story started (all stopped when it returns) */
  pids: number[];
}

/** The time of a log's first line at or after `since` that contains `text` (helper and agent logs start with an ISO time). */
function logTime(log: string, text: string, since = 0): number | null {
  for (const line of log.split('\n')) {
    if (!line.includes(text)) continue;
    const t = Date.parse(line.slice(0, line.indexOf(' ')));
    if (t >= since) return t;
  }
  return null;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function runBadUpdaterStory(opts: BadUpdaterOptions): Promise<BadUpdaterResult> {
  const out = opts.out;
  const deadlineS = opts.deadlineS ?? 5;
  const w = await openWorld({
    dir: opts.dir,
    fleetSize: opts.fleetSize ?? 10,
    initialVersion: '1.0.2',
    versions: ['1.0.2', GOOD, BAD],
    policy: ['guard:', '  window: 1h', '  min_attempts: 3', '  max_failure_rate: 0.1', '  max_rollbacks: 2'],
    helperArgs: ['--health-deadline', String(deadlineS)],
    broken: new Set([BAD]),
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    out,
  });
  try {
    const devices = w.fleet.devices;
    const wave1 = devices.slice(0, Math.ceil(devices.length * 0.4));
    const wave2 = devices.slice(wave1.length);
    out(
      [
        `\n━━ ${BAD_UPDATER_STORY} ━━`,
        `${devices.length} Macs update 1.0.2 -> ${GOOD} through their helpers, which keep ${GOOD}'s verified package for a rollback.`,
        `Then ${BAD} goes out at 100 %: a build whose updater is broken (it runs, and never checks in).`,
        `The helpers give a new version ${deadlineS} s (--health-deadline; an hourly agent gets 4 h) to send health_ok.`,
        '',
      ].join('\n'),
    );
    w.release('1.0.2', { release_notes: 'The release every Mac runs today.' });
    w.release(GOOD, { release_notes: 'A good release.' });
    w.git('add', '-A');
    w.git('commit', '-qm', `Release 1.0.2 and ${GOOD}`);
    await w.cli(['apply', '--ca-file', w.caFile], true);
    await w.fleet.checkAll();
    const on = [...w.fleet.versions().values()].filter((v) => v === GOOD).length;
    out(`${on} of ${devices.length} Macs installed ${GOOD}.\n`);
    w.release(BAD, { release_notes: 'New network stack (its updater is broken).' });
    w.git('add', '-A');
    w.git('commit', '-qm', `Release ${BAD} to 100 %`);
    await w.cli(['apply', '--ca-file', w.caFile]);

    out(`\nThe first ${wave1.length} Macs check, take ${BAD}, and launchd starts it:\n`);
    const started = Date.now();
    await w.round(wave1, wave1.length);
    const afterWave1 = w.fleet.versions();
    const helperLog = (d: Device) => readFileSync(join(d.dir, 'helper.log'), 'utf8');
    const timings: RollbackTiming[] = [];
    for (const d of wave1) {
      const log = helperLog(d);
      const pending = logTime(log, `pending ${GOOD} -> ${BAD} until health_ok`, started);
      const rolledBack = logTime(log, `SelfUpdate: rollback ${BAD} -> ${GOOD} (`, started);
      // The agent logs "agent started" once it told the helper it runs (its start ping).
      const agentLog = readFileSync(join(d.dir, 'agent.log'), 'utf8');
      const running = rolledBack === null ? null : logTime(agentLog, 'SelfUpdate: agent started', rolledBack);
      if (pending === null || rolledBack === null || running === null) continue;
      timings.push({ device: d.id, deadline: pending + deadlineS * 1000, rolledBack, running });
    }
    for (const d of wave1) out(`  ${d.id}: ${oneLine(helperLog(d), started)}\n`);
    const quarantined = new Map(
      devices.map((d) => {
        const f = join(d.dir, 'helper-state', 'quarantine.json');
        return [d.id, existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { versions: string[] }).versions : []];
      }),
    );
    const toRunning = spread(timings.map((t) => t.running - t.deadline));
    const toAct = spread(timings.map((t) => t.rolledBack - t.deadline));
    out(
      `${wave1.filter((d) => afterWave1.get(d.id) === GOOD).length} of ${wave1.length} run ${GOOD} again, ${BAD} quarantined on each; their 1.0.3 agents reported the rollback with their checkin.\n` +
        (toRunning === null || toAct === null
          ? 'No rollback was timed.\n'
          : `From the deadline to ${GOOD} running again (${timings.length} Macs): min ${secs(toRunning.min)}, median ${secs(toRunning.median)}, max ${secs(toRunning.max)}\n` +
            `  of which the helper acting on the deadline: min ${secs(toAct.min)}, median ${secs(toAct.median)}, max ${secs(toAct.max)}\n` +
            `  (the deadline: the helper's pending record + ${deadlineS} s; running: the ${GOOD} agent told the helper it started)\n`),
    );

    out('\nThe guard runs: the rollbacks count against the version left.\n');
    const { guardExit, haltReason, offeredAfterHalt } = await guardAndHalt(w, BAD);

    out(`\nThe other ${wave2.length} Macs check:\n`);
    await w.round(wave2, 4);
    const after = w.fleet.versions();
    out(`${wave2.filter((d) => after.get(d.id) === BAD).length} of ${wave2.length} took ${BAD}.\n\n`);
    const statusText = (await w.cli(['status'])).text;
    const status = (JSON.parse((await w.cli(['status', '--json'], true)).text) as { channels: ChannelStatus[] })
      .channels;
    const rollbacks = w.server.checkins.flatMap((c) => c.report?.events.filter((e) => e.kind === 'rollback') ?? []);
    return {
      fleet: devices.length,
      deadlineS,
      wave1: wave1.map((d) => d.id),
      wave2: wave2.map((d) => d.id),
      afterWave1,
      after,
      quarantined,
      timings,
      rollbacks,
      guardExit,
      haltReason,
      offeredAfterHalt,
      status,
      statusText,
      pids: w.pids(),
    };
  } finally {
    await w.close();
  }
}

/** What a wave-1 Mac's helper did, in one line. */
function oneLine(log: string, since: number): string {
  const lines = log
    .split('\n')
    .filter((l) => Date.parse(l.slice(0, l.indexOf(' '))) >= since && /SelfUpdate: (rollback|health ok)/.test(l));
  return lines.map((l) => l.slice(l.indexOf('SelfUpdate: ') + 12)).join('; ') || 'no rollback';
}

/** What `npm start` says at the end. */
export function summarizeBadUpdater(r: BadUpdaterResult): string[] {
  const back = r.wave1.filter((id) => r.afterWave1.get(id) === GOOD).length;
  const t = spread(r.timings.map((x) => x.running - x.deadline));
  return [
    `${back} of the ${r.wave1.length} Macs that took ${BAD} run ${GOOD} again by themselves (helper deadline ${r.deadlineS} s), ${BAD} quarantined on each.`,
    t === null
      ? 'No rollback was timed.'
      : `From the deadline to ${GOOD} running again: min ${secs(t.min)}, median ${secs(t.median)}, max ${secs(t.max)}.`,
    `The guard halted ${BAD} on ${r.rollbacks.length} reported rollbacks; none of the other ${r.wave2.length} Macs took it.`,
  ];
}
