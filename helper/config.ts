/**
 * The helper's settings: flags, over an optional JSON config file, over defaults per platform.
 * Reading files is passed in, so resolving is testable without touching /etc or /Library.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SettingsError } from '../schema/errors.js';
import { publicKeyFromBase64, type PublicKeyInfo } from '../schema/keys.js';
import { CHANNEL_PATTERN } from '../schema/release.schema.js';
import { DEFAULT_FACTS_COMMANDS, type FactsCommands } from './device-facts.js';
import type { HealthSettings } from './health-config.js';
import { HEALTH_DEFAULTS, HEALTH_FILE_KEYS, HEALTH_OPTIONS, resolveHealth } from './health-config.js';
import { DEFAULT_INSTALLER, DEFAULT_INSTALLER_ARGS } from './installer.js';
import { DEFAULT_PKGUTIL, DEFAULT_SPCTL, TEAM_ID_PATTERN } from './signature.js';
import { defaultDeviceIdFile, defaultSocketPath, defaultVersionFile } from './protocol.js';

/** With the health gate's settings (health-config.ts). */
export interface HelperConfig extends HealthSettings {
  socketPath: string;
  /** group name or numeric id for a 0660 socket; null for 0600 */
  socketGroup: string | null;
  stagingDir: string;
  versionFile: string;
  installer: string;
  installerArgs: string[];
  installerTimeoutMs: number;
  trustedKeys: PublicKeyInfo[];
  channel: string;
  logFile: string;
  stateDir: string;
  /** the machine's device id, read by the helper itself (and by the agents) */
  deviceIdFile: string;
  /** the ioreg that reads the hardware UUID a new device id is derived from; null: a random id */
  ioreg: string | null;
  idleTimeoutMs: number;
  /**
   * 1 (default): only spec-1 manifests are accepted; 2: only spec-2 manifests (a spec-1 one is
   * MANIFEST_SPEC). The helper follows one spec, the one its agent reads.
   */
  spec: 1 | 2;
  /** the helper's own commands for the Mac's facts (it never takes the agent's word) */
  factsCommands: FactsCommands;
  /** accepted Team IDs of the package's Developer ID Installer; empty: no signature check */
  teamIds: string[];
  pkgutil: string;
  spctl: string;
  signatureTimeoutMs: number;
}

export const SERVE_OPTIONS = {
  config: { type: 'string' },
  socket: { type: 'string' },
  'socket-group': { type: 'string' },
  staging: { type: 'string' },
  'version-file': { type: 'string' },
  installer: { type: 'string' },
  'installer-arg': { type: 'string', multiple: true },
  'installer-timeout': { type: 'string' },
  'trusted-key': { type: 'string', multiple: true },
  'keys-file': { type: 'string' },
  channel: { type: 'string' },
  'log-file': { type: 'string' },
  'state-dir': { type: 'string' },
  'device-id-file': { type: 'string' },
  ioreg: { type: 'string' },
  'idle-timeout': { type: 'string' },
  spec: { type: 'string' },
  'sw-vers': { type: 'string' },
  sysctl: { type: 'string' },
  'team-id': { type: 'string', multiple: true },
  pkgutil: { type: 'string' },
  spctl: { type: 'string' },
  'signature-timeout': { type: 'string' },
  ...HEALTH_OPTIONS,
} as const;

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Config file keys: the flag names with underscores; lists for the repeatable ones. */
const FILE_KEYS: Record<string, 'string' | 'list' | 'number'> = {
  socket: 'string',
  socket_group: 'string',
  staging: 'string',
  version_file: 'string',
  installer: 'string',
  installer_args: 'list',
  installer_timeout: 'number',
  trusted_keys: 'list',
  keys_file: 'string',
  channel: 'string',
  log_file: 'string',
  state_dir: 'string',
  device_id_file: 'string',
  ioreg: 'string',
  idle_timeout: 'number',
  spec: 'number',
  sw_vers: 'string',
  sysctl: 'string',
  team_ids: 'list',
  pkgutil: 'string',
  spctl: 'string',
  signature_timeout: 'number',
  ...HEALTH_FILE_KEYS,
};

export function defaults(platform: NodeJS.Platform = process.platform): Omit<HelperConfig, 'trustedKeys'> {
  const state = platform === 'darwin' ? '/Library/Application Support/mngd/helper' : '/var/lib/mngd/helper';
  return {
    socketPath: defaultSocketPath(platform),
    socketGroup: null,
    stagingDir: join(state, 'staging'),
    versionFile: defaultVersionFile(platform),
    installer: DEFAULT_INSTALLER,
    installerArgs: [...DEFAULT_INSTALLER_ARGS],
    installerTimeoutMs: 600_000,
    channel: 'stable',
    logFile: platform === 'darwin' ? '/var/log/mngd.log' : '/var/log/mngd-helper.log',
    stateDir: state,
    deviceIdFile: defaultDeviceIdFile(platform),
    ioreg: platform === 'darwin' ? '/usr/sbin/ioreg' : null,
    idleTimeoutMs: 10_000,
    spec: 1,
    factsCommands: DEFAULT_FACTS_COMMANDS,
    teamIds: [],
    pkgutil: DEFAULT_PKGUTIL,
    spctl: DEFAULT_SPCTL,
    signatureTimeoutMs: 120_000,
    ...HEALTH_DEFAULTS,
  };
}

function configError(file: string, message: string): SettingsError {
  return new SettingsError(`${file}: ${message}`);
}

/** Parses the JSON config file's text (pure): known keys only, each of the right type. */
export function parseConfigFile(text: string, file: string): Record<string, string | number | string[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw configError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw configError(file, 'expected a JSON object such as {"socket": "/var/run/com.mngd.helper.sock"}');
  const out: Record<string, string | number | string[]> = {};
  for (const [key, value] of Object.entries(data)) {
    const kind = FILE_KEYS[key];
    if (kind === undefined)
      throw configError(file, `unknown key "${key}"; known keys: ${Object.keys(FILE_KEYS).join(', ')}`);
    const ok =
      (kind === 'string' && typeof value === 'string' && value !== '') ||
      (kind === 'number' && typeof value === 'number' && value > 0) ||
      (kind === 'list' && Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok)
      throw configError(
        file,
        `"${key}" must be ${kind === 'list' ? 'a list of strings' : kind === 'number' ? 'a number above 0' : 'a non-empty string'}`,
      );
    out[key] = value as string | number | string[];
  }
  return out;
}

/** Public keys from a keys file: one base64 key per line; blank lines and `#` comments ignored. */
export function parseKeysFile(text: string, file: string): PublicKeyInfo[] {
  const keys: PublicKeyInfo[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    try {
      keys.push(publicKeyFromBase64(line));
    } catch (err) {
      throw configError(`${file}:${i + 1}`, (err as Error).message);
    }
  });
  return keys;
}

/** A week: also keeps every time-out far below setTimeout's limit (2^31 - 1 ms, beyond which it fires at once). */
const MAX_SECONDS = 7 * 24 * 3600;

function seconds(text: string | number, what: string): number {
  const n = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_SECONDS) {
    throw new SettingsError(
      `${what} must be a number of seconds above 0 and at most ${MAX_SECONDS} (a week), got ${JSON.stringify(text)}`,
    );
  }
  return Math.round(n * 1000);
}

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new SettingsError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

export type ReadText = (path: string) => string;

/** Flags over the config file over the defaults. */
export function resolveConfig(
  values: FlagValues,
  readText: ReadText = (p) => readFileSync(p, 'utf8'),
  platform: NodeJS.Platform = process.platform,
): HelperConfig {
  const read = (path: string, what: string): string => {
    try {
      return readText(path);
    } catch (err) {
      throw new SettingsError(
        `cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  };
  const configPath = typeof values.config === 'string' ? values.config : undefined;
  const file = configPath !== undefined ? parseConfigFile(read(configPath, 'config file'), configPath) : {};
  const pick = (flag: string, key: string): string | number | string[] | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    return file[key];
  };
  const d = defaults(platform);
  const str = (flag: string, key: string, fallback: string): string => {
    const v = pick(flag, key);
    return typeof v === 'string' ? v : fallback;
  };
  const list = (flag: string, key: string): string[] | undefined => {
    const v = pick(flag, key);
    return Array.isArray(v) ? v : undefined;
  };
  const timeout = pick('installer-timeout', 'installer_timeout');
  const idle = pick('idle-timeout', 'idle_timeout');

  const trustedKeys: PublicKeyInfo[] = [];
  for (const k of list('trusted-key', 'trusted_keys') ?? []) {
    try {
      trustedKeys.push(publicKeyFromBase64(k));
    } catch (err) {
      throw new SettingsError(`--trusted-key: ${(err as Error).message}`);
    }
  }
  const keysFile = pick('keys-file', 'keys_file');
  if (typeof keysFile === 'string') trustedKeys.push(...parseKeysFile(read(keysFile, 'keys file'), keysFile));
  if (trustedKeys.length === 0) {
    throw new SettingsError(
      'no trusted keys: pass --trusted-key BASE64 (repeatable) or --keys-file FILE, the same public keys the agent trusts',
    );
  }
  const installerArgs = list('installer-arg', 'installer_args') ?? d.installerArgs;
  if (!installerArgs.some((a) => a.includes('{pkg}'))) {
    throw new SettingsError(
      'the installer arguments must contain {pkg}, which stands for the staged package (default: -pkg {pkg} -target /)',
    );
  }
  const teamIds = list('team-id', 'team_ids') ?? [];
  for (const t of teamIds)
    if (!TEAM_ID_PATTERN.test(t))
      throw new SettingsError(
        `--team-id ${JSON.stringify(t)} is not a Team ID (10 uppercase letters and digits, as in "Developer ID Installer: Example Corp (ABCDE12345)")`,
      );
  const sigTimeout = pick('signature-timeout', 'signature_timeout');
  const group = pick('socket-group', 'socket_group');
  const spec = pick('spec', 'spec') ?? d.spec;
  if (spec !== 1 && spec !== 2 && spec !== '1' && spec !== '2')
    throw new SettingsError(`--spec must be 1 or 2 (the manifest spec the agent reads), got ${JSON.stringify(spec)}`);
  const channel = str('channel', 'channel', d.channel);
  if (!new RegExp(CHANNEL_PATTERN).test(channel))
    throw new SettingsError(
      `--channel ${JSON.stringify(channel)} is not a channel name (lowercase letters, digits and dashes, e.g. stable or beta)`,
    );
  return {
    socketPath: absolute(str('socket', 'socket', d.socketPath), '--socket'),
    socketGroup: typeof group === 'string' ? group : null,
    stagingDir: absolute(str('staging', 'staging', d.stagingDir), '--staging'),
    versionFile: absolute(str('version-file', 'version_file', d.versionFile), '--version-file'),
    installer: absolute(str('installer', 'installer', d.installer), '--installer'),
    installerArgs,
    installerTimeoutMs:
      timeout === undefined ? d.installerTimeoutMs : seconds(timeout as string | number, '--installer-timeout'),
    trustedKeys,
    channel,
    logFile: absolute(str('log-file', 'log_file', d.logFile), '--log-file'),
    stateDir: absolute(str('state-dir', 'state_dir', d.stateDir), '--state-dir'),
    deviceIdFile: absolute(str('device-id-file', 'device_id_file', d.deviceIdFile), '--device-id-file'),
    ioreg: pick('ioreg', 'ioreg') === undefined ? d.ioreg : absolute(str('ioreg', 'ioreg', ''), '--ioreg'),
    idleTimeoutMs: idle === undefined ? d.idleTimeoutMs : seconds(idle as string | number, '--idle-timeout'),
    spec: Number(spec) as 1 | 2,
    factsCommands: {
      swVers: absolute(str('sw-vers', 'sw_vers', d.factsCommands.swVers), '--sw-vers'),
      sysctl: absolute(str('sysctl', 'sysctl', d.factsCommands.sysctl), '--sysctl'),
    },
    teamIds,
    pkgutil: absolute(str('pkgutil', 'pkgutil', d.pkgutil), '--pkgutil'),
    spctl: absolute(str('spctl', 'spctl', d.spctl), '--spctl'),
    signatureTimeoutMs:
      sigTimeout === undefined ? d.signatureTimeoutMs : seconds(sigTimeout as string | number, '--signature-timeout'),
    ...resolveHealth(pick, seconds),
  };
}
