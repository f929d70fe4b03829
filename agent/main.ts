/**
 * The wiring of the agent's real parts (config, state folder, log file, the shared HTTP client,
 * the helper client) for `mngd-agent run | check` (agent/commands.ts). Everything outside is taken
 * from `ctx`, so tests run the CLI in-process.
 */
import { homedir } from 'node:os';
import { requestInstall, sendManifest } from '../helper/client.js';
import { readDeviceId } from '../helper/device-id.js';
import { commandFacts } from '../helper/device-facts.js';
import { runCheck, type CheckDeps, type CheckResult, type HelperClient } from './check.js';
import { currentVersionOf, type AgentConfig } from './config.js';
import { createHttpClient, HttpError, withStatusHint, type HttpClient } from './http/index.js';
import type { Logger } from './log.js';
import { StateStore } from './state.js';

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

export interface Agent {
  config: AgentConfig;
  log: Logger;
  http: HttpClient;
  deviceId: string;
  currentVersion: string;
  check: () => Promise<CheckResult>;
  /** the versions the helper rolled back on this Mac (from its reply to the start ping) */
  setQuarantined(versions: readonly string[]): void;
}

/** Builds the real agent from its configuration. */
export async function buildAgent(config: AgentConfig, ctx: AgentContext, log: Logger): Promise<Agent> {
  // The version first: a broken installation is reported before anything is written.
  const currentVersion = await currentVersionOf(config);
  const state = new StateStore(config.stateDir, config.spec);
  await state.init();
  // The machine's id, which the helper reads too (it checks the cohort itself); the state
  // folder's own id only where no helper ever created one (the helper would refuse cohorts then).
  const deviceId = config.deviceId ?? (await readDeviceId(config.deviceIdFile)) ?? (await state.deviceId());
  const http = createHttpClient({
    bin: 'mngd-agent',
    ...(config.caFile === null ? {} : { caFile: config.caFile }),
    connectTimeoutMs: config.connectTimeoutMs,
    readTimeoutMs: config.readTimeoutMs,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  const helper: HelperClient = {
    install: (req) => requestInstall(config.helperSocket, req, { timeoutMs: config.installTimeoutMs }),
    manifest: (raw) => sendManifest(config.helperSocket, raw),
  };
  const deps: CheckDeps = {
    manifestUrl: config.manifestUrl,
    spec: config.spec,
    facts: commandFacts(config.factsCommands),
    channel: config.channel,
    trustedKeys: config.trustedKeys,
    deviceId,
    currentVersion,
    http,
    helper,
    state,
    log,
    now: ctx.now,
    quarantined: () => quarantined,
  };
  let quarantined: readonly string[] = [];
  return {
    config,
    log,
    http,
    deviceId,
    currentVersion,
    check: () => runCheck(deps),
    setQuarantined: (v) => (quarantined = v),
  };
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
      // The server's answer to a checkin carries nothing the agent reads: any 2xx (204 No Content
      // included) is a checkin done, not a failure to warn about every hour.
      if (err instanceof HttpError && err.code === 'HTTP_STATUS' && err.status !== undefined && err.status < 300)
        return;
      const hint = 'check checkin_url in the config (--checkin-url)';
      throw withStatusHint(err, { missing: hint, refused: hint });
    }
  };
}
