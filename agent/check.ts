/**
 * One self-update check, the contract's agent steps in order: fetch the manifest (conditional),
 * verify it, choose, download and verify the package, hand it to the helper. Every outside thing
 * is passed in (clock, HTTP client, helper client, state, logger), so tests run it for real
 * against loopback servers. It never throws for a failed step: it logs ONE `SelfUpdate:` warning
 * naming the step and returns what happened; the running version stays in place.
 */
import { rm } from 'node:fs/promises';
import { MngdError, messageOf } from '../schema/errors.js';
import { describeFacts } from '../schema/device-facts.js';
import type { InstallParams } from '../helper/client.js';
import type { InstallResponse, ManifestResponse } from '../helper/protocol.js';
import type { CheckResult, Failed, ManifestInfo, Step } from './check-result.js';
import { COOLDOWN_FAILURES, countsTowardCooldown, recordFailure } from './cooldown.js';
import { cleanDownloads, downloadPackage, pkgPath } from './download.js';
import type { Decision } from './decide.js';
import { readManifest, type ReadDeps } from './read-manifest.js';
import { isDiskFull } from './disk-full.js';
import { displayUrl } from './http/index.js';
import type { Logger } from './log.js';

export type { CheckResult, Outcome, Step } from './check-result.js';
export { COOLDOWN_FAILURES, COOLDOWN_MS, NOT_ABOUT_THE_PACKAGE, countsTowardCooldown } from './cooldown.js';

/**
 * The privileged helper, as the agent sees it: the protocol's own replies. A refusal is a reply
 * (`ok: false`); no usable reply at all throws (HELPER_UNREACHABLE…).
 */
export interface HelperClient {
  install(request: InstallParams): Promise<InstallResponse>;
  /** hands over a manifest the agent verified (the raw bytes) */
  manifest(raw: string): Promise<ManifestResponse>;
}

export interface CheckDeps extends ReadDeps {
  helper: HelperClient;
  log: Logger;
}

function codeOf(err: unknown): string {
  return err instanceof MngdError ? err.code : 'UNEXPECTED';
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

const nothingChosen = (current: string) =>
  ({ current, target: null, blocked: false, floor: null, forced: false, unsupported: null }) as const;

export async function runCheck(d: CheckDeps): Promise<CheckResult> {
  try {
    return await checkSteps(d);
  } catch (err) {
    // A full disk where the state is written: one warning, not a crash (no "check crashed").
    if (!isDiskFull(err)) throw err;
    const current = d.currentVersion;
    d.log.warn(
      `SelfUpdate: state failed: current ${current}: ${messageOf(err)} [DISK_FULL]; staying on ${current}, checkin not blocked, retrying next interval (not counted toward the cool-down: not a fault of the package)`,
    );
    return {
      ...nothingChosen(current),
      outcome: 'failed',
      step: 'state',
      code: 'DISK_FULL',
      message: messageOf(err),
      manifest: null,
    };
  }
}

async function checkSteps(d: CheckDeps): Promise<CheckResult> {
  const current = d.currentVersion;
  const none = nothingChosen(current);
  const state = await d.state.read(d.log);

  // 1-2. Fetch and verify. An unverifiable or unreachable manifest never blocks checkin: a
  // broken CDN or a forged file must not lock devices out of the server.
  const read = await readManifest(d, state);
  if (!read.ok) {
    const { step, err } = read;
    d.log.warn(
      `SelfUpdate: ${step} failed: current ${current}, manifest ${displayUrl(d.manifestUrl)}: ${messageOf(err)} [${codeOf(err)}]; staying on ${current}, checkin not blocked, retrying next interval`,
    );
    return { ...none, outcome: 'failed', step, code: codeOf(err), message: messageOf(err), manifest: null };
  }
  const { raw, source, signed } = read;
  await tellHelper(d, raw, signed.sequence);

  // 3. Choose (agent/decide.ts, per spec). Facts that cannot be read skip this check, never block checkin.
  const manifest: ManifestInfo = { sequence: signed.sequence, channel: signed.channel, source };
  let decision: Decision;
  try {
    decision = await read.decide();
  } catch (err) {
    d.log.warn(
      `SelfUpdate: device-facts failed: current ${current}, manifest v2 ${signed.channel} seq ${signed.sequence}: ${messageOf(err)} [${codeOf(err)}]; staying on ${current}, checkin not blocked, retrying next interval (check sw_vers_command and sysctl_command)`,
    );
    return { ...none, outcome: 'failed', step: 'device-facts', code: codeOf(err), message: messageOf(err), manifest };
  }
  const { blocked, forced, unsupported, floor } = decision;
  const device = decision.device === null ? {} : { device: decision.device };
  const chosen = { ...none, blocked, floor, forced, unsupported, manifest, ...device };
  const facts = decision.device === null ? '' : ` (${describeFacts(decision.device)})`;
  const spec = d.spec === 2 ? 'v2 ' : '';
  const about = `current ${current}${facts}, manifest ${spec}${signed.channel} seq ${signed.sequence}${source === 'cached' ? ' (unchanged, 304)' : ''}`;
  // Lockout-proof: a floor this device cannot satisfy never blocks checkin (docs/DESIGN.md).
  if (decision.warning !== null) d.log.warn(decision.warning);
  const target = decision.target;
  if (target === null) {
    d.log.info(`SelfUpdate: check: ${about} ${decision.line}`);
    await cleanDownloads(d.state.downloads, null);
    return { ...chosen, outcome: 'up-to-date', target: null };
  }
  const res = { ...chosen, target: target.version, ...(target.arch === null ? {} : { arch: target.arch }) };
  const why = decision.line;

  // Three failures for one package: 24 h cool-down. Keyed by sha256, so a newer release (another
  // package) is tried at once. Checked before the "-> updating" line, which would be untrue.
  // A cool-down never holds checkin: a device must not be locked out of the server for a day.
  const cd = state.cooldowns[target.sha256];
  if (cd?.until != null) {
    if (Date.parse(cd.until) > d.now().getTime()) {
      d.log.info(`SelfUpdate: check: ${about} ${why} -> cooling down`);
      d.log.warn(
        `SelfUpdate: cool-down: ${current} -> ${target.version} from ${displayUrl(target.download_url)} failed ${cd.failures} times; not tried again until ${cd.until}; staying on ${current}${blocked ? ', checkin not blocked meanwhile' : ''}`,
      );
      return { ...res, blocked: false, outcome: 'cooling-down', cooldown_until: cd.until };
    }
    delete state.cooldowns[target.sha256];
    await d.state.write(state);
  }
  d.log.info(`SelfUpdate: check: ${about} ${why} -> updating`);

  let download: Failed['download'];
  const failed = async (step: Step, err: unknown, extraText = ''): Promise<CheckResult> => {
    let extra = extraText;
    const notCounted = !countsTowardCooldown(codeOf(err), statusOf(err));
    const n = notCounted
      ? { failures: state.cooldowns[target.sha256]?.failures ?? 0, until: null }
      : await recordFailure(d.state, state, target, d.now()).catch((e: unknown) => {
          if (!isDiskFull(e)) throw e;
          extra += ` (not recorded: ${messageOf(e)})`;
          return { failures: state.cooldowns[target.sha256]?.failures ?? 1, until: null };
        });
    const tail =
      n.until !== null
        ? `; failed ${n.failures} times: cool-down until ${n.until} (a newer release is tried at once)`
        : notCounted
          ? ' (not counted toward the cool-down: not a fault of the package)'
          : ` (failure ${n.failures} of ${COOLDOWN_FAILURES} for this package)`;
    d.log.warn(
      `SelfUpdate: ${step} failed: ${current} -> ${target.version} from ${displayUrl(target.download_url)}: ${messageOf(err)} [${codeOf(err)}]${extra}; staying on ${current}${blocked ? (n.until !== null ? ', checkin no longer blocked' : ', checkin still blocked') : ''}, retrying next interval${tail}`,
    );
    const code = codeOf(err);
    const still = blocked && n.until === null;
    return {
      ...res,
      blocked: still,
      outcome: 'failed',
      step,
      code,
      message: messageOf(err),
      ...(download ? { download } : {}),
    };
  };

  // 4. Download into the private folder; only a verified file comes out.
  await cleanDownloads(d.state.downloads, target.sha256);
  let path: string;
  try {
    const dl = await downloadPackage(target, d.state.downloads, d.http, d.deadlines);
    path = dl.path;
    download = { transferred: dl.transferred, resumed: dl.resumed, reused: dl.reused };
  } catch (err) {
    return failed('download', err);
  }

  // 5. Hand over to the helper, which verifies everything again before it installs.
  let reply: InstallResponse;
  try {
    const arch = target.arch === null ? {} : { arch: target.arch };
    reply = await d.helper.install({
      manifest: raw.toString('utf8'),
      version: target.version,
      pkg_path: path,
      ...arch,
    });
  } catch (err) {
    return failed('install', err);
  }
  if (!reply.ok) {
    const code = reply.error.code;
    const exit = reply.exit_code !== undefined ? `; installer exit code ${reply.exit_code}` : '';
    const out = reply.output_tail ? `; output: ${reply.output_tail.trim().slice(-500)}` : '';
    const message =
      code === 'INSTALLER_UNAVAILABLE'
        ? `the helper's installer could not be started, a fault of the helper's setup and not of the package: check the helper's --installer (the helper said: ${reply.error.message})`
        : `the helper refused or failed: ${reply.error.message}`;
    return failed('install', new MngdError(code, message), `${exit}${out}`);
  }
  delete state.cooldowns[target.sha256];
  await d.state.write(state);
  await rm(pkgPath(d.state.downloads, target.sha256), { force: true });
  d.log.info(`SelfUpdate: install complete ${current} -> ${target.version}`);
  return { ...res, outcome: 'updated', blocked: false, download };
}

/**
 * Every manifest the agent verified reaches the helper, which verifies it too and from then on
 * refuses an install that an older manifest offered (a replay by a local user after a yank).
 * A helper that is down learns it with the next install request; that is not worth a warning.
 */
async function tellHelper(d: CheckDeps, raw: Buffer, sequence: number): Promise<void> {
  try {
    const r = await d.helper.manifest(raw.toString('utf8'));
    if (!r.ok)
      d.log.warn(
        `SelfUpdate: the helper refused manifest seq ${sequence}: ${r.error.message} [${r.error.code}]; check that the helper trusts the same keys and follows the same channel and spec as the agent (its --spec)`,
      );
  } catch (err) {
    d.log.info(`SelfUpdate: the helper was not told of manifest seq ${sequence}: ${messageOf(err)} [${codeOf(err)}]`);
  }
}
