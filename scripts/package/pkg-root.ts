/**
 * The mngd pkg's contents, before pkgbuild: `root/` (the payload, laid out as on the target
 * volume: the two single executables, VERSION, the LaunchDaemons, the newsyslog entry) and
 * `scripts/` (postinstall and the settings it puts in place). The settings come from the build's
 * settings file (manifest URL, channel, checkin URL) and releases/policy.yaml (the trusted keys);
 * both are checked by the agent's and the helper's own settings parsers before anything is written.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveConfig as resolveAgentConfig } from '../../agent/config.js';
import { resolveConfig as resolveHelperConfig } from '../../helper/config.js';
import { parsePolicy } from '../../pipeline/releases/index.js';
import { isVersion } from '../../schema/version.js';
import { AGENT_USER, DAEMON_LABELS, MAC_LAYOUT } from './layout.js';

export interface PkgRootOptions {
  /** the repository root (property lists, packaging/macos/) */
  repo: string;
  /** the folder holding mngd-agent and mngd-helper */
  bins: string;
  /** the release's version, written to VERSION */
  version: string;
  /** the build's settings file: {"manifest_url", "channel"?, "checkin_url"?} */
  settingsFile: string;
  /** releases/policy.yaml, whose trusted_keys the agent and the helper get */
  policyFile: string;
  out: string;
}

const SETTINGS_KEYS = new Set(['manifest_url', 'channel', 'checkin_url', 'team_ids']);

/** `team_ids`: the Apple Team IDs whose Developer ID Installer may sign the pkg (the helper's signer check). */
function readSettings(file: string): Record<string, string> & { team_ids?: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}; expected {"manifest_url": "https://…", "channel": "stable"}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new Error(`${file}: expected a JSON object such as {"manifest_url": "https://…", "channel": "stable"}`);
  for (const [k, v] of Object.entries(data)) {
    if (!SETTINGS_KEYS.has(k)) throw new Error(`${file}: unknown key "${k}"; known: ${[...SETTINGS_KEYS].join(', ')}`);
    if (k === 'team_ids') {
      if (!Array.isArray(v) || v.length === 0 || !v.every((t) => typeof t === 'string'))
        throw new Error(`${file}: "team_ids" must be a non-empty list of Team IDs such as ["ABCDE12345"]`);
    } else if (typeof v !== 'string') throw new Error(`${file}: "${k}" must be a string`);
  }
  return data as Record<string, string> & { team_ids?: string[] };
}

/** Writes `out/root` and `out/scripts`; returns the settings written, as the daemons read them. */
export function writePkgRoot(o: PkgRootOptions): { agent: object; helper: object } {
  if (!isVersion(o.version)) throw new Error(`--version ${o.version}: expected a version such as 1.4.0`);
  const settings = readSettings(o.settingsFile);
  const policy = parsePolicy(o.policyFile, readFileSync(o.policyFile));
  if (policy.policy === null)
    throw new Error(policy.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  const trusted_keys = policy.policy.trusted_keys.map((k) => k.public_key);
  const channel = settings['channel'] ?? 'stable';
  const agent = {
    manifest_url: settings['manifest_url'],
    channel,
    trusted_keys,
    ...(settings['checkin_url'] !== undefined ? { checkin_url: settings['checkin_url'] } : {}),
    state_dir: `/${MAC_LAYOUT.agentState}`,
    log_file: `/${MAC_LAYOUT.agentLog}`,
  };
  const helper = {
    socket_group: AGENT_USER,
    agent_user: AGENT_USER,
    channel,
    trusted_keys,
    log_file: `/${MAC_LAYOUT.helperLog}`,
    // Who may sign the pkg: the helper runs pkgutil and spctl on each staged copy (docs/helper.md).
    ...(settings.team_ids !== undefined ? { team_ids: settings.team_ids } : {}),
  };
  // The daemons' own parsers, as a Mac would run them: a bad setting fails the build, not the fleet.
  resolveAgentConfig({ path: o.settingsFile, data: agent }, {}, { platform: 'darwin', home: '/var/empty', env: {} });
  const helperJson = `${JSON.stringify(helper, null, 2)}\n`;
  // The helper's parser reads a file: it checks a scratch copy, so a bad setting leaves nothing written.
  const scratch = mkdtempSync(join(tmpdir(), 'mngd-pkg-root-'));
  try {
    writeFileSync(join(scratch, 'helper.json'), helperJson);
    resolveHelperConfig({ config: join(scratch, 'helper.json') }, undefined, 'darwin');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const scripts = join(o.out, 'scripts');
  const root = join(o.out, 'root');
  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(scripts, { recursive: true });
  writeFileSync(join(scripts, 'agent.json'), `${JSON.stringify(agent, null, 2)}\n`);
  writeFileSync(join(scripts, 'helper.json'), helperJson);
  copyFileSync(join(o.repo, 'packaging/macos/postinstall'), join(scripts, 'postinstall'));
  chmodSync(join(scripts, 'postinstall'), 0o755);

  const put = (rel: string, from: string | null, mode: number, text?: string): void => {
    const to = join(root, rel);
    mkdirSync(dirname(to), { recursive: true });
    if (from !== null) copyFileSync(from, to);
    else writeFileSync(to, text ?? '');
    chmodSync(to, mode);
  };
  put(MAC_LAYOUT.agentBin, join(o.bins, 'mngd-agent'), 0o755);
  put(MAC_LAYOUT.helperBin, join(o.bins, 'mngd-helper'), 0o755);
  put(MAC_LAYOUT.versionFile, null, 0o644, `${o.version}\n`);
  put(MAC_LAYOUT.newsyslog, join(o.repo, 'packaging/macos/newsyslog.conf'), 0o644);
  for (const label of DAEMON_LABELS) {
    const from = join(o.repo, label === 'com.mngd.agent' ? 'agent' : 'helper', 'launchd', `${label}.plist`);
    put(`${MAC_LAYOUT.launchDaemons}/${label}.plist`, from, 0o644);
  }
  return { agent, helper };
}
