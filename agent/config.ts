/**
 * The agent's configuration: a JSON file (--config) overlaid by flags, with defaults that fit a
 * Mac (and a sensible place elsewhere). `resolveConfig` is pure; `loadConfig` reads the files.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SettingsError, UsageError, ValidationError, messageOf } from '../schema/errors.js';
import { publicKeyFromBase64, type PublicKeyInfo } from '../schema/keys.js';
import { isDeviceId } from '../schema/rings.js';
import { CHANNEL_PATTERN } from '../schema/release.schema.js';
import { closest } from '../schema/suggest.js';
import { explainVersion } from '../schema/version.js';
import { DEFAULT_FACTS_COMMANDS, type FactsCommands } from '../helper/device-facts.js';
import { defaultDeviceIdFile, defaultSocketPath, defaultVersionFile } from '../helper/protocol.js';
import { specOfUrl } from './spec.js';

/** The installed version file is unreadable or wrong: the installation, not a setting, is broken (exit 1). */
export class VersionFileError extends ValidationError<'VERSION_FILE'> {}

export interface AgentConfig {
  manifestUrl: string;
  /** the manifest spec this agent reads: 2 reads v2/… only and never falls back to spec 1 */
  spec: 1 | 2;
  /** the commands that tell the Mac's facts (spec 2 chooses with them) */
  factsCommands: FactsCommands;
  channel: string;
  trustedKeys: PublicKeyInfo[];
  /** null: the stable id kept in the state folder */
  deviceId: string | null;
  /** the machine's device id file, which the helper reads too (used when deviceId is null) */
  deviceIdFile: string;
  /** null: read from versionFile */
  currentVersion: string | null;
  versionFile: string;
  stateDir: string;
  helperSocket: string;
  logFile: string;
  caFile: string | null;
  /** the server checkin; null: no checkin call (the loop still runs the update checks) */
  checkinUrl: string | null;
  intervalMs: number;
  firstDelayMaxMs: number;
  floorRetryMs: number;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  installTimeoutMs: number;
}

/** Each setting: its key in the config file, its flag, and what kind of value it takes. */
const SETTINGS = {
  manifest_url: { flag: 'manifest-url', kind: 'url' },
  manifest_spec: { flag: 'manifest-spec', kind: 'string' },
  sw_vers_command: { flag: 'sw-vers', kind: 'string' },
  sysctl_command: { flag: 'sysctl', kind: 'string' },
  channel: { flag: 'channel', kind: 'string' },
  trusted_keys: { flag: 'trusted-key', kind: 'list' },
  device_id: { flag: 'device-id', kind: 'string' },
  device_id_file: { flag: 'device-id-file', kind: 'string' },
  current_version: { flag: 'current-version', kind: 'string' },
  version_file: { flag: 'version-file', kind: 'string' },
  state_dir: { flag: 'state-dir', kind: 'string' },
  helper_socket: { flag: 'helper-socket', kind: 'string' },
  log_file: { flag: 'log-file', kind: 'string' },
  ca_file: { flag: 'ca-file', kind: 'string' },
  checkin_url: { flag: 'checkin-url', kind: 'url' },
  interval_seconds: { flag: 'interval', kind: 'seconds' },
  first_delay_seconds: { flag: 'first-delay', kind: 'seconds' },
  floor_retry_seconds: { flag: 'floor-retry', kind: 'seconds' },
  connect_timeout_seconds: { flag: 'connect-timeout', kind: 'seconds' },
  read_timeout_seconds: { flag: 'read-timeout', kind: 'seconds' },
  install_timeout_seconds: { flag: 'install-timeout', kind: 'seconds' },
} as const;
type Key = keyof typeof SETTINGS;
type Raw = Partial<Record<Key, unknown>>;

export const DEFAULTS = {
  channel: 'stable',
  interval_seconds: 3600,
  first_delay_seconds: 600,
  floor_retry_seconds: 300,
  connect_timeout_seconds: 10,
  read_timeout_seconds: 30,
  install_timeout_seconds: 1800,
} as const;

/** The parseArgs options for every setting, plus --config. */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  ...Object.fromEntries(
    Object.values(SETTINGS).map((s) => [
      s.flag,
      s.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' },
    ]),
  ),
} as Record<string, { type: 'string'; multiple?: boolean }>;

export interface Platform {
  platform: NodeJS.Platform;
  home: string;
  env: Record<string, string | undefined>;
}

export function defaultPaths({ platform, home, env }: Platform): { stateDir: string; logFile: string } {
  if (platform === 'darwin') {
    return {
      stateDir: join(home, 'Library', 'Application Support', 'mngd', 'agent'),
      logFile: join(home, 'Library', 'Logs', 'mngd', 'mngd.log'),
    };
  }
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(home, '.local', 'state');
  return { stateDir: join(base, 'mngd', 'agent'), logFile: join(base, 'mngd', 'mngd.log') };
}

function fail(where: string, message: string): never {
  throw new SettingsError(`${where}: ${message}`);
}

/**
 * Merges the file's values and the flags' values and checks every one. `file` is the parsed JSON
 * (or null), `flags` the parseArgs values. Pure.
 */
export function resolveConfig(
  file: { path: string; data: unknown } | null,
  flags: Record<string, unknown>,
  platform: Platform,
): AgentConfig {
  const raw: Raw = {};
  const origin: Partial<Record<Key, string>> = {};
  if (file) {
    const d = file.data;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) fail(file.path, 'expected a JSON object of settings');
    for (const [k, v] of Object.entries(d)) {
      // A typo such as "manifest_uri" must not silently fall back to a default.
      if (!(k in SETTINGS)) {
        const guess = closest(k, Object.keys(SETTINGS));
        fail(
          file.path,
          `unknown setting "${k}"${guess !== null ? `: did you mean "${guess}"? Known settings` : '; known settings'}: ${Object.keys(SETTINGS).join(', ')}`,
        );
      }
      raw[k as Key] = v;
      origin[k as Key] = `${file.path}: "${k}"`;
    }
  }
  for (const [k, s] of Object.entries(SETTINGS) as [Key, (typeof SETTINGS)[Key]][]) {
    const v = flags[s.flag];
    if (v !== undefined) {
      raw[k] = v;
      origin[k] = `--${s.flag}`;
    }
  }
  const where = (k: Key) => origin[k] ?? `"${k}"`;
  const str = (k: Key): string | null => {
    const v = raw[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.trim() === '') fail(where(k), 'expected a non-empty string');
    return v.trim();
  };
  const url = (k: Key): string | null => {
    const v = str(k);
    if (v === null) return null;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return fail(where(k), `"${v}" is not a URL; expected https://…`);
    }
    if (u.protocol !== 'https:') fail(where(k), `"${v}" is not https; only https is accepted`);
    return v;
  };
  const ms = (k: Exclude<Key & keyof typeof DEFAULTS, 'channel'>): number => {
    const v = raw[k];
    if (v === undefined) return DEFAULTS[k] * 1000;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    // Only the first delay may be 0: an interval of 0 checks (and hits the CDN) in a tight loop,
    // and a time-out of 0 fails every request.
    const min = k === 'first_delay_seconds' ? 0 : 0.001;
    if (!Number.isFinite(n) || n < min || n > 7 * 24 * 3600) {
      fail(
        where(k),
        `expected a number of seconds ${min === 0 ? 'from 0' : 'above 0'} to 604800, got ${JSON.stringify(v)}`,
      );
    }
    return Math.round(n * 1000);
  };

  const manifestUrl = url('manifest_url');
  if (manifestUrl === null)
    fail('configuration', 'no manifest URL; set "manifest_url" in the config file or pass --manifest-url');
  const spec = specOfUrl(manifestUrl, raw.manifest_spec, where('manifest_spec'));
  const channel = str('channel') ?? DEFAULTS.channel;
  if (!new RegExp(CHANNEL_PATTERN).test(channel))
    fail(where('channel'), `"${channel}" is not a channel name (lowercase letters, digits and dashes)`);

  const keyList = raw.trusted_keys;
  if (keyList === undefined)
    fail(
      'configuration',
      'no trusted keys; set "trusted_keys" in the config file or pass --trusted-key (the public keys from releases/policy.yaml)',
    );
  if (!Array.isArray(keyList) || keyList.length === 0 || keyList.some((k) => typeof k !== 'string')) {
    fail(where('trusted_keys'), 'expected a non-empty list of base64 public keys');
  }
  const trustedKeys = (keyList as string[]).map((k, i) => {
    try {
      return publicKeyFromBase64(k);
    } catch (err) {
      return fail(where('trusted_keys'), `key ${i + 1}: ${messageOf(err)}`);
    }
  });

  const currentVersion = str('current_version');
  if (currentVersion !== null) {
    const why = explainVersion(currentVersion);
    if (why !== null) fail(where('current_version'), `"${currentVersion}" is not a version: ${why}`);
  }
  const deviceId = str('device_id');
  if (deviceId !== null && !isDeviceId(deviceId))
    fail(where('device_id'), 'expected 1 to 128 printable ASCII characters');

  const paths = defaultPaths(platform);
  return {
    manifestUrl,
    spec,
    factsCommands: {
      swVers: str('sw_vers_command') ?? DEFAULT_FACTS_COMMANDS.swVers,
      sysctl: str('sysctl_command') ?? DEFAULT_FACTS_COMMANDS.sysctl,
    },
    channel,
    trustedKeys,
    deviceId,
    deviceIdFile: str('device_id_file') ?? defaultDeviceIdFile(platform.platform),
    currentVersion,
    versionFile: str('version_file') ?? defaultVersionFile(platform.platform),
    stateDir: str('state_dir') ?? paths.stateDir,
    helperSocket: str('helper_socket') ?? defaultSocketPath(platform.platform),
    logFile: str('log_file') ?? paths.logFile,
    caFile: str('ca_file'),
    checkinUrl: url('checkin_url'),
    intervalMs: ms('interval_seconds'),
    firstDelayMaxMs: ms('first_delay_seconds'),
    floorRetryMs: ms('floor_retry_seconds'),
    connectTimeoutMs: ms('connect_timeout_seconds'),
    readTimeoutMs: ms('read_timeout_seconds'),
    installTimeoutMs: ms('install_timeout_seconds'),
  };
}

/** Reads --config (if given) and resolves. */
export async function loadConfig(
  flags: Record<string, unknown>,
  platform: Platform = { platform: process.platform, home: homedir(), env: process.env },
): Promise<AgentConfig> {
  const path = flags['config'];
  if (path !== undefined && typeof path !== 'string') throw new UsageError('--config takes one file');
  let file: { path: string; data: unknown } | null = null;
  if (typeof path === 'string') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new SettingsError(`cannot read the config file ${path}: ${messageOf(err)}`);
    }
    try {
      file = { path, data: JSON.parse(text) };
    } catch (err) {
      throw new SettingsError(`${path}: not valid JSON (${messageOf(err)})`);
    }
  }
  return resolveConfig(file, flags, platform);
}

/** The running version: the flag, or the version file the package installs. */
export async function currentVersionOf(config: Pick<AgentConfig, 'currentVersion' | 'versionFile'>): Promise<string> {
  if (config.currentVersion !== null) return config.currentVersion;
  let text: string;
  try {
    text = await readFile(config.versionFile, 'utf8');
  } catch (err) {
    throw new VersionFileError(
      'VERSION_FILE',
      `cannot read the installed version from ${config.versionFile}: ${messageOf(err)}; reinstall the pkg, or pass --current-version / --version-file`,
    );
  }
  const v = text.trim();
  const why = explainVersion(v);
  if (why !== null)
    throw new VersionFileError(
      'VERSION_FILE',
      `${config.versionFile} holds "${v.slice(0, 40)}", which is not a version: ${why}`,
    );
  return v;
}
