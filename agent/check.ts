/**
 * One self-update check, the contract's agent steps in order: fetch the manifest (conditional),
 * verify it, choose, download and verify the package, hand it to the helper. Every outside thing
 * is passed in (clock, HTTP client, helper client, state, logger), so tests run it for real
 * against loopback servers. It never throws for a failed step: it logs ONE `SelfUpdate:` warning
 * naming the step and returns what happened; the running version stays in place.
 */
import { rm } from 'node:fs/promises';
import { MngdError, messageOf } from '../schema/errors.js';
import { ManifestError, verifyManifest, type VerifiedManifest } from '../schema/manifest.js';
import { MAX_MANIFEST_BYTES } from '../schema/manifest.schema.js';
import { choose, eligible } from '../schema/choose.js';
import { compareVersions } from '../schema/version.js';
import type { PublicKeyInfo } from '../schema/keys.js';
import type { ManifestRelease } from '../schema/types.js';
import { cleanDownloads, downloadPackage, pkgPath } from './download.js';
import { displayUrl, type HttpClient } from './http/index.js';
import type { Logger } from './log.js';
import type { AgentState, StateStore } from './state.js';

export const COOLDOWN_FAILURES = 3;
export const COOLDOWN_MS = 24 * 60 * 60 * 1000;

/**
 * Failures that say nothing about the package: our own shutdown, the network, a helper that is
 * down or busy, a helper whose installer cannot be started (its --installer is wrong). They do
 * not count toward the cool-down: a helper down or misconfigured for 15 minutes must not put a
 * forced update (and with it the device's checkin) on hold for a day. Everything about the
 * package itself (wrong hash or size, an HTTP error status, the helper's refusal, an installer
 * that ran and failed) counts.
 */
export const NOT_ABOUT_THE_PACKAGE: ReadonlySet<string> = new Set([
  'HTTP_ABORTED',
  'HTTP_NETWORK',
  'HTTP_TIMEOUT',
  'HELPER_UNREACHABLE',
  'HELPER_TIMEOUT',
  'BUSY',
  'INSTALLER_UNAVAILABLE',
]);

export type Step = 'fetch-manifest' | 'verify-manifest' | 'download' | 'install';

export interface InstallReply {
  ok: boolean;
  /** the helper's error code when ok is false */
  code?: string;
  message?: string;
  exit_code?: number;
  output_tail?: string;
}

/** The privileged helper, as the agent sees it. Throws (HELPER_UNREACHABLE…) when there is no reply. */
export interface HelperClient {
  install(request: { manifest: string; version: string; pkg_path: string }): Promise<InstallReply>;
}

export interface CheckDeps {
  manifestUrl: string;
  channel: string;
  trustedKeys: readonly PublicKeyInfo[];
  deviceId: string;
  currentVersion: string;
  http: HttpClient;
  helper: HelperClient;
  state: StateStore;
  log: Logger;
  now: () => Date;
}

export type Outcome = 'up-to-date' | 'updated' | 'failed' | 'cooling-down';

/** What one check did: printed by `check --json`, read by the run loop. */
export interface CheckResult {
  outcome: Outcome;
  current: string;
  /** the release chosen, if any */
  target: string | null;
  /** the failing step and its error code (outcome failed) */
  step?: Step;
  code?: string;
  message?: string;
  /** checkin must wait: a verified, unexpired manifest's floor is above the running version */
  blocked: boolean;
  floor: string | null;
  /** the floor forced the target (the rollout share was ignored) */
  forced: boolean;
  manifest: { sequence: number; channel: string; source: 'downloaded' | 'cached' } | null;
  /** outcome cooling-down: when the package will be tried again */
  cooldown_until?: string;
  download?: { transferred: number; resumed: boolean; reused: boolean };
}

function codeOf(err: unknown): string {
  return err instanceof MngdError ? err.code : 'UNEXPECTED';
}

export async function runCheck(d: CheckDeps): Promise<CheckResult> {
  const current = d.currentVersion;
  const manifestShown = displayUrl(d.manifestUrl);
  const base: CheckResult = {
    outcome: 'up-to-date',
    current,
    target: null,
    blocked: false,
    floor: null,
    forced: false,
    manifest: null,
  };
  const state = await d.state.read(d.log);

  const failManifest = (step: Step, err: unknown): CheckResult => {
    // An unverifiable or unreachable manifest never blocks checkin: a broken CDN or a forged
    // file must not lock devices out of the server.
    d.log.warn(
      `SelfUpdate: ${step} failed: current ${current}, manifest ${manifestShown}: ${messageOf(err)} [${codeOf(err)}]; staying on ${current}, checkin not blocked, retrying next interval`,
    );
    return { ...base, outcome: 'failed', step, code: codeOf(err), message: messageOf(err) };
  };

  // 1. Fetch, conditionally: an unchanged manifest costs a 304 and no body.
  const cached = state.manifest_etag !== null ? await d.state.readCachedManifest() : null;
  let raw: Buffer;
  let source: 'downloaded' | 'cached';
  let etag: string | null = null;
  try {
    // Endless data: at most 1 MiB is read, the stream stops at the first byte beyond.
    const r = await d.http.getBuffer(d.manifestUrl, {
      maxBytes: MAX_MANIFEST_BYTES,
      ...(cached !== null && state.manifest_etag !== null ? { etag: state.manifest_etag } : {}),
    });
    if (r.status === 304) {
      if (cached === null)
        throw new ManifestError(
          'MANIFEST_MALFORMED',
          'the server answered 304 Not Modified to an unconditional request',
        );
      raw = cached;
      source = 'cached';
    } else {
      raw = r.body;
      source = 'downloaded';
      etag = r.etag ?? null;
    }
  } catch (err) {
    return failManifest('fetch-manifest', err);
  }

  // 2. Verify. The cached copy is verified again too: it may have expired since (freeze).
  let verified: VerifiedManifest;
  try {
    verified = verifyManifest(raw, {
      trustedKeys: d.trustedKeys, // forged manifest: one valid signature by a trusted key
      channel: d.channel, // mix-and-match: another channel's manifest is refused
      now: d.now(), // freeze: an expired manifest is refused
      previous: state.accepted, // rollback: a sequence below the highest accepted is refused
    });
  } catch (err) {
    if (source === 'cached') {
      state.manifest_etag = null;
      await d.state.write(state);
      await d.state.dropCachedManifest();
    }
    return failManifest('verify-manifest', err);
  }
  // Only a verified manifest moves the rollback mark and replaces the cache. An unchanged
  // manifest (304) writes nothing.
  if (source === 'downloaded' || state.accepted === null || verified.accepted.sequence > state.accepted.sequence) {
    if (state.accepted === null || verified.accepted.sequence > state.accepted.sequence)
      state.accepted = verified.accepted;
    if (source === 'downloaded') {
      await d.state.writeCachedManifest(raw);
      state.manifest_etag = etag;
    }
    await d.state.write(state);
  }

  // 3. Choose.
  const signed = verified.signed;
  const floor = signed.min_required_version;
  const choice = choose({ releases: signed.releases, current, floor, deviceId: d.deviceId });
  const target = choice.target;
  const res: CheckResult = {
    ...base,
    target: target?.version ?? null,
    blocked: choice.belowFloor,
    floor,
    forced: choice.forced,
    manifest: { sequence: signed.sequence, channel: signed.channel, source },
  };
  const about = `current ${current}, manifest ${signed.channel} seq ${signed.sequence}${source === 'cached' ? ' (unchanged, 304)' : ''}`;
  if (target === null) {
    d.log.info(`SelfUpdate: check: ${about} ${describeNothing(signed.releases, current, d.deviceId)}`);
    if (choice.belowFloor) {
      d.log.warn(
        `SelfUpdate: check: current ${current} is below the floor ${floor} and the manifest offers no release at or above it; checkin blocked (fix the manifest: the floor must be offered)`,
      );
    }
    await cleanDownloads(d.state.downloads, null);
    return res;
  }
  const why = choice.forced
    ? `is below the floor ${floor}: forced update to ${target.version} (rollout ignored), checkin blocked until updated`
    : `offers ${target.version} (rollout ${target.rollout_percent}%, this device in cohort)${choice.belowFloor ? `; below the floor ${floor}, checkin blocked until updated` : ''}`;

  // Three failures for one package: 24 h cool-down. Keyed by sha256, so a newer release (another
  // package) is tried at once. Checked before the "-> updating" line, which would be untrue.
  const cd = state.cooldowns[target.sha256];
  if (cd?.until != null) {
    if (Date.parse(cd.until) > d.now().getTime()) {
      d.log.info(`SelfUpdate: check: ${about} ${why} -> cooling down`);
      d.log.warn(
        `SelfUpdate: cool-down: ${current} -> ${target.version} from ${displayUrl(target.download_url)} failed ${cd.failures} times; not tried again until ${cd.until}; staying on ${current}`,
      );
      return { ...res, outcome: 'cooling-down', cooldown_until: cd.until };
    }
    delete state.cooldowns[target.sha256];
    await d.state.write(state);
  }
  d.log.info(`SelfUpdate: check: ${about} ${why} -> updating`);

  const failed = async (step: Step, err: unknown, extra = ''): Promise<CheckResult> => {
    const notCounted = NOT_ABOUT_THE_PACKAGE.has(codeOf(err));
    const n = notCounted
      ? { failures: state.cooldowns[target.sha256]?.failures ?? 0, until: null }
      : await recordFailure(d, state, target, d.now());
    const tail =
      n.until !== null
        ? `; failed ${n.failures} times: cool-down until ${n.until} (a newer release is tried at once)`
        : notCounted
          ? ' (not counted toward the cool-down: not a fault of the package)'
          : ` (failure ${n.failures} of ${COOLDOWN_FAILURES} for this package)`;
    d.log.warn(
      `SelfUpdate: ${step} failed: ${current} -> ${target.version} from ${displayUrl(target.download_url)}: ${messageOf(err)} [${codeOf(err)}]${extra}; staying on ${current}${res.blocked ? ', checkin still blocked' : ''}, retrying next interval${tail}`,
    );
    return { ...res, outcome: 'failed', step, code: codeOf(err), message: messageOf(err) };
  };

  // 4. Download into the private folder; only a verified file comes out.
  await cleanDownloads(d.state.downloads, target.sha256);
  let path: string;
  try {
    const dl = await downloadPackage(target, d.state.downloads, d.http);
    path = dl.path;
    res.download = { transferred: dl.transferred, resumed: dl.resumed, reused: dl.reused };
  } catch (err) {
    return failed('download', err);
  }

  // 5. Hand over to the helper, which verifies everything again before it installs.
  let reply: InstallReply;
  try {
    reply = await d.helper.install({ manifest: raw.toString('utf8'), version: target.version, pkg_path: path });
  } catch (err) {
    return failed('install', err);
  }
  if (!reply.ok) {
    const code = reply.code ?? 'INSTALL_FAILED';
    const exit = reply.exit_code !== undefined ? `; installer exit code ${reply.exit_code}` : '';
    const out = reply.output_tail ? `; output: ${reply.output_tail.trim().slice(-500)}` : '';
    const message =
      code === 'INSTALLER_UNAVAILABLE'
        ? `the helper's installer could not be started, a fault of the helper's setup and not of the package: check the helper's --installer (the helper said: ${reply.message ?? code})`
        : `the helper refused or failed: ${reply.message ?? code}`;
    return failed('install', new MngdError(code, message), `${exit}${out}`);
  }
  delete state.cooldowns[target.sha256];
  await d.state.write(state);
  await rm(pkgPath(d.state.downloads, target.sha256), { force: true });
  d.log.info(`SelfUpdate: install complete ${current} -> ${target.version}`);
  return { ...res, outcome: 'updated', blocked: false };
}

/** Why there is nothing to install, for the log line. */
function describeNothing(releases: readonly ManifestRelease[], current: string, deviceId: string): string {
  const newer = releases.find((r) => compareVersions(r.version, current) > 0);
  if (newer !== undefined) {
    const cohort =
      newer.rollout_percent === 0
        ? 'paused'
        : eligible(deviceId, newer)
          ? 'this device in cohort'
          : 'this device not in cohort';
    return `offers ${newer.version} (rollout ${newer.rollout_percent}%, ${cohort}) -> staying on ${current}`;
  }
  return `offers nothing newer (newest ${releases[0]?.version ?? 'none'}) -> up to date`;
}

async function recordFailure(
  d: CheckDeps,
  state: AgentState,
  target: ManifestRelease,
  now: Date,
): Promise<{ failures: number; until: string | null }> {
  const prev = state.cooldowns[target.sha256];
  const failures = (prev?.failures ?? 0) + 1;
  const until = failures >= COOLDOWN_FAILURES ? new Date(now.getTime() + COOLDOWN_MS).toISOString() : null;
  state.cooldowns[target.sha256] = { version: target.version, failures, until };
  await d.state.write(state);
  return { failures, until };
}
