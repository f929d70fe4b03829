/**
 * `mngd-agent run | check`: flag parsing and the wiring of the real parts (config, state folder,
 * log file, the shared HTTP client, the helper client). Everything outside is taken from `ctx`,
 * so tests run the CLI in-process.
 */
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { flagsError } from '../schema/cli-args.js';
import { ExternalError, MngdError, UsageError, ValidationError, messageOf } from '../schema/errors.js';
import { requestInstall } from '../helper/client.js';
import { runCheck, type CheckDeps, type CheckResult, type HelperClient } from './check.js';
import { CONFIG_HELP, CONFIG_OPTIONS, currentVersionOf, loadConfig, type AgentConfig } from './config.js';
import { createHttpClient, withStatusHint, type HttpClient } from './http.js';
import { fileLogger, type Logger } from './log.js';
import { runLoop } from './run-loop.js';
import { StateStore } from './state.js';

export const AGENT_VERSION = '0.1.0';

export interface Output {
  write(text: string): void;
}

export interface AgentContext {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  home: string;
  now: () => Date;
  /** aborting stops `run` (SIGTERM) */
  signal?: AbortSignal;
  random?: () => number;
}

export function defaultAgentContext(signal?: AbortSignal): AgentContext {
  return {
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    env: process.env,
    platform: process.platform,
    home: homedir(),
    now: () => new Date(),
    ...(signal === undefined ? {} : { signal }),
  };
}

const HELP = `mngd-agent: the mngd agent's self-update client (verify, then install through mngd-helper)

Usage:
  mngd-agent run [flags]                 the checkin loop (launchd keeps it running)
  mngd-agent check --once [--json] [flags]  one self-update check, then exit

${CONFIG_HELP}
  --json                   check: print the outcome as JSON on stdout
  -h, --help               show this help

Exit status (check): 0 up to date or updated; 1 the check failed on a bad manifest or package,
or the package is cooling down; 2 called wrongly; 3 an outside system failed (network, helper): retry.
run exits 0 after an install (launchd starts the new version) or on SIGTERM.

Example:
  mngd-agent check --once --json --manifest-url https://cdn.mngd.app/agent/latest.json \\
    --trusted-key 'q2V…=' --current-version 1.0.2
`;

const OPTIONS = {
  ...CONFIG_OPTIONS,
  once: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function exitOf(err: unknown): number {
  if (err instanceof UsageError) return 2;
  if (err instanceof ValidationError) return 1;
  if (err instanceof ExternalError) return 3;
  return err instanceof MngdError ? 1 : 3;
}

/** The exit status of `check` for its outcome. */
export function checkExitCode(r: CheckResult): number {
  if (r.outcome === 'up-to-date' || r.outcome === 'updated') return 0;
  if (r.outcome === 'cooling-down') return 1;
  const outside = r.step === 'fetch-manifest' || /^(HTTP_|HELPER_|DOWNLOAD_IO)/.test(r.code ?? '');
  return outside ? 3 : 1;
}

export interface Agent {
  config: AgentConfig;
  log: Logger;
  http: HttpClient;
  deviceId: string;
  currentVersion: string;
  check: () => Promise<CheckResult>;
}

/** Builds the real agent from its configuration. */
export async function buildAgent(config: AgentConfig, ctx: AgentContext, log: Logger): Promise<Agent> {
  // The version first: a broken installation is reported before anything is written.
  const currentVersion = await currentVersionOf(config);
  const state = new StateStore(config.stateDir);
  await state.init();
  const deviceId = config.deviceId ?? (await state.deviceId());
  const http = createHttpClient({
    userAgent: `mngd-agent/${currentVersion}`,
    ...(config.caFile === null ? {} : { caFile: config.caFile }),
    connectTimeoutMs: config.connectTimeoutMs,
    readTimeoutMs: config.readTimeoutMs,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  const helper: HelperClient = {
    async install(req) {
      const r = await requestInstall(config.helperSocket, req, { timeoutMs: config.installTimeoutMs });
      if (r.ok) return { ok: true };
      return {
        ok: false,
        code: r.error.code,
        message: r.error.message,
        ...(r.exit_code === undefined ? {} : { exit_code: r.exit_code }),
        ...(r.output_tail === undefined ? {} : { output_tail: r.output_tail }),
      };
    },
  };
  const deps: CheckDeps = {
    manifestUrl: config.manifestUrl,
    channel: config.channel,
    trustedKeys: config.trustedKeys,
    deviceId,
    currentVersion,
    http,
    helper,
    state,
    log,
    now: ctx.now,
  };
  return { config, log, http, deviceId, currentVersion, check: () => runCheck(deps) };
}

/** The server checkin: a GET carrying the device id and version (the server side is the mngd server's). */
export function checkinCall(url: string, http: HttpClient, deviceId: string, version: string): () => Promise<void> {
  return async () => {
    const u = new URL(url);
    u.searchParams.set('device_id', deviceId);
    u.searchParams.set('version', version);
    try {
      await http.getBuffer(u.toString(), { maxBytes: 64 * 1024 });
    } catch (err) {
      const hint = 'check checkin_url in the config (--checkin-url)';
      throw withStatusHint(err, { missing: hint, refused: hint });
    }
  };
}

export async function runAgentCli(argv: readonly string[], ctx: AgentContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout).write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name !== 'run' && name !== 'check') {
    ctx.stderr.write(
      `mngd-agent: unknown command "${name}"; expected "run" or "check --once". Run "mngd-agent --help" for usage.\n`,
    );
    return 2;
  }
  let values: Record<string, unknown>;
  try {
    const parsed = parseArgs({ args: [...rest], options: OPTIONS, allowPositionals: false, strict: true });
    values = parsed.values;
  } catch (err) {
    ctx.stderr.write(`mngd-agent ${name}: ${flagsError(err, OPTIONS)}\nRun "mngd-agent --help" for usage.\n`);
    return 2;
  }
  if (values['help'] === true) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (name === 'run' && (values['once'] !== undefined || values['json'] !== undefined)) {
    ctx.stderr.write(`mngd-agent run: --once and --json belong to "check"; use "mngd-agent check --once --json"\n`);
    return 2;
  }
  let agent: Agent;
  try {
    const config = await loadConfig(values, { platform: ctx.platform, home: ctx.home, env: ctx.env });
    const log = fileLogger({ file: config.logFile, mirror: ctx.stderr, now: ctx.now });
    agent = await buildAgent(config, ctx, log);
  } catch (err) {
    const tag = err instanceof MngdError ? ` [${err.code}]` : '';
    ctx.stderr.write(`mngd-agent ${name}: ${messageOf(err)}${tag}\n`);
    return exitOf(err);
  }

  if (name === 'check') {
    let result: CheckResult;
    try {
      result = await agent.check();
    } catch (err) {
      agent.log.error(`SelfUpdate: check crashed: ${messageOf(err)}`);
      return exitOf(err);
    }
    if (values['json'] === true) ctx.stdout.write(`${JSON.stringify(result)}\n`);
    else ctx.stdout.write(`${summary(result)}\n`);
    return checkExitCode(result);
  }

  const cfg = agent.config;
  await runLoop({
    check: agent.check,
    checkin:
      cfg.checkinUrl === null ? null : checkinCall(cfg.checkinUrl, agent.http, agent.deviceId, agent.currentVersion),
    timing: { intervalMs: cfg.intervalMs, firstDelayMaxMs: cfg.firstDelayMaxMs, floorRetryMs: cfg.floorRetryMs },
    log: agent.log,
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
  return 0;
}

/** One line for people. */
export function summary(r: CheckResult): string {
  switch (r.outcome) {
    case 'updated':
      return `updated ${r.current} -> ${r.target ?? '?'}`;
    case 'up-to-date':
      return `up to date: ${r.current}${r.target === null && r.blocked ? ` (below the floor ${r.floor ?? '?'}, checkin blocked)` : ''}`;
    case 'cooling-down':
      return `not updating ${r.current} -> ${r.target ?? '?'}: the package failed 3 times, cooling down until ${r.cooldown_until ?? '?'}`;
    case 'failed':
      return `failed at ${r.step ?? '?'}: ${r.message ?? ''} [${r.code ?? '?'}]${r.blocked ? ' (checkin blocked)' : ''}`;
  }
}
