/** `mngd-agent run | check`: the agent's commands and help on the bins' shared skeleton (schema/bin.ts). */
import { runBin, type Bin, type BinArgs, type BinCommand } from '../schema/bin.js';
import { PACKAGE_VERSION } from './embedded.js';
import { UsageError, messageOf } from '../schema/errors.js';
import { EXIT, exitCodeOf } from '../schema/exit.js';
import type { CheckResult } from './check.js';
import { CONFIG_OPTIONS, currentVersionOf, loadConfig } from './config.js';
import { CONFIG_HELP } from './config-help.js';
import { fileLogger } from './log.js';
import { buildAgent, checkinCall, type Agent, type AgentContext } from './main.js';
import { runLoop } from './run-loop.js';
import { fullGc } from './gc.js';
import { commandFacts } from '../helper/device-facts.js';
import { recordingCheck, reportFacts, reportingCheckin, ringSaltOf } from './checkin.js';
import { EventQueue } from './event-queue.js';
import { healthGateOf } from './health-gate.js';

const HELP = `mngd-agent: the mngd agent's self-update client (verify, then install through mngd-helper)

Usage:
  mngd-agent run [flags]                 the checkin loop (launchd keeps it running)
  mngd-agent check --once [--json] [flags]  one self-update check, then exit

${CONFIG_HELP}
  --json                   check: print the outcome as JSON on stdout
  -h, --help               show this help

Exit status (check): 0 up to date or updated; 1 the check failed on a bad manifest or package,
or the package is cooling down; 2 called wrongly or a setting is wrong (the message says which);
3 an outside system failed (network, helper): retry.
run exits 0 after an install (launchd starts the new version) or on SIGTERM.

Example:
  mngd-agent check --once --json --manifest-url https://cdn.mngd.app/agent/latest.json \\
    --trusted-key 'q2V…=' --current-version 1.0.2
`;

const OPTIONS = {
  ...CONFIG_OPTIONS,
  once: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** The exit status of `check` for its outcome. */
export function checkExitCode(r: CheckResult): number {
  if (r.outcome === 'up-to-date' || r.outcome === 'updated') return EXIT.OK;
  if (r.outcome === 'cooling-down') return EXIT.INVALID;
  const outside = r.step === 'fetch-manifest' || /^(HTTP_|HELPER_|DOWNLOAD_IO|DISK_FULL)/.test(r.code ?? '');
  return outside ? EXIT.EXTERNAL : EXIT.INVALID;
}

/** The configuration, the log file and the real parts; a wrong setting throws before anything is written. */
async function setUp(args: BinArgs, ctx: AgentContext): Promise<Agent> {
  const config = await loadConfig(args.values, { platform: ctx.platform, home: ctx.home, env: ctx.env });
  const log = fileLogger({ file: config.logFile, mirror: ctx.stderr, now: ctx.now });
  return buildAgent(config, ctx, log);
}

/**
 * One check, no checkin, and no `started` or `health_ok` to the helper: `started` counts as an
 * agent start of a pending version (crash-loop detection), which a scripted check is not
 * (docs/agent.md, "Commands").
 */
const check: BinCommand<AgentContext> = {
  help: HELP,
  options: OPTIONS,
  async run(args, ctx) {
    const agent = await setUp(args, ctx);
    let result: CheckResult;
    try {
      result = await recordingCheck(
        agent.check,
        new EventQueue(agent.config.stateDir, agent.log),
        agent.log,
        ctx.now,
      )();
    } catch (err) {
      agent.log.error(`SelfUpdate: check crashed: ${messageOf(err)}`);
      return exitCodeOf(err);
    }
    if (args.values['json'] === true) ctx.stdout.write(`${JSON.stringify(result)}\n`);
    else ctx.stdout.write(`${summary(result)}\n`);
    return checkExitCode(result);
  },
};

const run: BinCommand<AgentContext> = {
  help: HELP,
  options: OPTIONS,
  async run(args, ctx) {
    if (args.values['once'] !== undefined || args.values['json'] !== undefined)
      throw new UsageError('--once and --json belong to "check"; use "mngd-agent check --once --json"');
    const agent = await setUp(args, ctx);
    const cfg = agent.config;
    const queue = new EventQueue(cfg.stateDir, agent.log);
    const health = healthGateOf({
      socket: cfg.helperSocket,
      version: agent.currentVersion,
      log: agent.log,
      queue,
      setQuarantined: (v) => agent.setQuarantined(v),
    });
    await runLoop({
      ...health,
      check: recordingCheck(agent.check, queue, agent.log, ctx.now),
      checkin:
        cfg.checkinUrl === null
          ? null
          : reportingCheckin(
              cfg.checkinUrl,
              agent.http,
              {
                queue,
                facts: reportFacts(commandFacts(cfg.factsCommands)),
                ringSalt: () => ringSaltOf(cfg.stateDir),
                deviceId: agent.deviceId,
                channel: cfg.channel,
                current: agent.currentVersion,
              },
              checkinCall(cfg.checkinUrl, agent.http, agent.deviceId, agent.currentVersion),
            ),
      timing: { intervalMs: cfg.intervalMs, firstDelayMaxMs: cfg.firstDelayMaxMs, floorRetryMs: cfg.floorRetryMs },
      log: agent.log,
      beforeSleep: fullGc,
      // Only when the version comes from the file the package installs (not --current-version).
      ...(cfg.currentVersion === null
        ? {
            installedSinceStart: async () => {
              const now = await currentVersionOf(cfg);
              return now !== agent.currentVersion ? now : null;
            },
          }
        : {}),
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      ...(ctx.random === undefined ? {} : { random: ctx.random }),
    });
    return EXIT.OK;
  },
};

const AGENT_BIN: Bin<AgentContext> = {
  name: 'mngd-agent',
  help: () => HELP,
  version: () => PACKAGE_VERSION,
  commands: [
    { name: 'run', load: () => run },
    { name: 'check', load: () => check },
  ],
};

export function runAgentCli(argv: readonly string[], ctx: AgentContext): Promise<number> {
  return runBin(AGENT_BIN, argv, ctx);
}

/** One line for people. */
export function summary(r: CheckResult): string {
  switch (r.outcome) {
    case 'updated':
      return `updated ${r.current} -> ${r.target ?? '?'}`;
    case 'up-to-date':
      return `up to date: ${r.current}${r.unsupported !== null ? ` (below the floor ${r.floor ?? '?'}, which this device cannot satisfy: ${r.unsupported}; checkin not blocked)` : ''}`;
    case 'cooling-down':
      return `not updating ${r.current} -> ${r.target ?? '?'}: the package failed 3 times, cooling down until ${r.cooldown_until ?? '?'}`;
    case 'failed':
      return `failed at ${r.step ?? '?'}: ${r.message ?? ''} [${r.code ?? '?'}]${r.blocked ? ' (checkin blocked)' : ''}`;
  }
}
