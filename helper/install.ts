/**
 * The install path: verify the manifest, decide, stage and verify the copy, run the installer,
 * clean up, log. Every side effect comes in through `InstallDeps`, so tests pass real local
 * parts (a temp folder, a stand-in installer) without patching globals.
 */
import { compareVersions } from '../schema/version.js';
import { MngdError, messageOf } from '../schema/errors.js';
import type { PublicKeyInfo } from '../schema/keys.js';
import { markToCheck, marksAfter, type AcceptedMarks } from '../schema/accepted-marks.js';
import { verifyManifest } from '../schema/manifest.js';
import { verifyManifest2 } from '../schema/manifest2.js';
import type { MacFacts } from '../schema/device-facts.js';
import { artifactToInstall } from './decide2.js';
import type { FactsProvider } from './device-facts.js';
import { offeredToThisDevice, refuseQuarantined, releaseToInstall } from './decide.js';
import { withoutQuarantined } from '../schema/quarantine.js';
import type { InstallMarkerStore } from './install-marker.js';
import type { KeptPackage } from './kept.js';
import { installerArgs, type InstallerRunner } from './installer.js';
import { checkSignature, type SignatureSettings } from './signature.js';
import type { Logger } from './log.js';
import { isAgent } from './agent-only.js';
import { HelperError, type InstallRequest, type InstallSuccess } from './protocol.js';
import { removeStaged, stagePackage } from './staging.js';
import type { AcceptedStore } from './state.js';

export interface InstallSettings extends SignatureSettings {
  trustedKeys: readonly PublicKeyInfo[];
  channel: string;
  stagingDir: string;
  installer: string;
  /** the argument list; `{pkg}` stands for the staged package */
  installerArgs: readonly string[];
  installerTimeoutMs: number;
  /** the manifest spec followed (default 1): a spec-2 helper reads spec 2 only */
  spec?: 1 | 2;
}

/** What install.ts calls around the installer (the health gate, health.ts). */
export interface InstallGate {
  /**
   * before the installer runs over `installed` (throws BUSY while the gate's own rollback installs);
   * `byAgent`: asked for by the agent's proven uid or root (agent-only.ts), so a pending N's own updater
   */
  before(installed: string, release: KeptPackage, byAgent: boolean): Promise<void>;
  /** after it ran, or after a refusal (then a no-op unless before() went through): `staged` is the verified copy */
  after(ok: boolean, staged: string, release: KeptPackage): Promise<void>;
  /** versions never to install again on this Mac */
  quarantined(): Promise<string[]>;
}

export interface InstallDeps {
  settings: InstallSettings;
  now: () => Date;
  installedVersion: () => Promise<string | null>;
  /** the machine's device id, read by the helper itself (never taken from the request); null when unreadable */
  deviceId: () => Promise<string | null>;
  /** spec 2: the Mac's facts, read by the helper itself with its own commands */
  facts: FactsProvider;
  accepted: AcceptedStore;
  /** the durable record of the running installer, across helper restarts (install-marker.ts) */
  marker?: InstallMarkerStore;
  runInstaller: InstallerRunner;
  log: Logger;
  /** keeps P's package and writes `pending` around the installer (health.ts); none: no health gate */
  gate?: InstallGate;
  /** the agent's uid (--agent-user): with root, the only requester whose install proves a pending N healthy */
  agentUid: number;
}

/**
 * Carries out one install request of the client whose uid is `owner` (proven: server.ts): the
 * package must be that uid's. Resolves with the success reply; throws HelperError otherwise.
 */
export async function install(req: InstallRequest, owner: number, deps: InstallDeps): Promise<InstallSuccess> {
  const { log } = deps;
  // As the request comes (for its log line); the install decides on a fresh read below.
  let what = `${(await deps.installedVersion()) ?? 'unknown'} -> ${req.version}`;
  log.info(`SelfUpdate: helper install requested ${what} (request ${req.id}, package ${req.pkg_path})`);
  try {
    // One install at a time, also with an installer that an earlier (killed) helper started.
    await deps.marker?.refuseWhileOrphanRuns();
    // Read once no such installer runs: it may have changed the installed version up to its last moment.
    const installed = await deps.installedVersion();
    what = `${installed ?? 'unknown'} -> ${req.version}`;
    const result = await deps.accepted.exclusive(() => verifiedInstall(req, owner, installed, deps));
    log.info(`SelfUpdate: helper install complete ${what} (installer exit 0)`);
    return result;
  } catch (err) {
    const e = asHelperError(err);
    const exit = e.details.exit_code !== undefined ? `, installer exit ${e.details.exit_code}` : '';
    log.warn(`SelfUpdate: helper install refused or failed ${what}: ${e.code}: ${e.message}${exit}`);
    throw e;
  }
}

/** What an install request may install: a release's version and its package's size and hash. */
interface Chosen {
  version: string;
  size: number;
  sha256: string;
}

/** The device id the helper reads itself (never the request's); refused when unreadable. */
async function ownDeviceId(deps: InstallDeps): Promise<string> {
  const deviceId = await deps.deviceId();
  if (deviceId === null) {
    throw new HelperError(
      'DEVICE_ID_UNKNOWN',
      "the device id cannot be read, so this device's rollout cohort is unknown; check the helper's --device-id-file",
    );
  }
  return deviceId;
}

/** Spec 1 (today's path, for the bridge). */
async function chooseSpec1(req: InstallRequest, installed: string | null, deps: InstallDeps): Promise<Chosen> {
  const { settings } = deps;
  // Forged, foreign-channel, expired or replayed manifests: the helper trusts nothing the agent
  // says and verifies with the same code and keys the agent uses (schema/manifest.ts).
  const marks = await deps.accepted.read();
  const verified = verifyManifest(req.manifest, verifyOptions(settings, deps, marks));
  await deps.accepted.write(marksAfter(marks, verified.accepted, verified.signers, settings.trustedKeys, deps.now()));
  // The arch belongs to spec 2: a spec-1 manifest lists one universal package per release.
  if (req.arch !== undefined)
    throw new HelperError('BAD_REQUEST', '"arch" belongs to a spec-2 install; this helper follows spec 1 (--spec 1)');
  const release = releaseToInstall(verified.signed, req.version, installed);
  // The request's manifest passed the rollback check, so it is the newest the helper knows.
  offeredToThisDevice(verified.signed, release, installed!, await ownDeviceId(deps), await quarantinedOf(deps));
  return release;
}

/** Spec 2: choose v2 with the helper's own facts; only the artifact it names is staged. */
async function chooseSpec2(req: InstallRequest, installed: string | null, deps: InstallDeps): Promise<Chosen> {
  const { settings } = deps;
  const marks = await deps.accepted.read();
  const verified = verifyManifest2(req.manifest, verifyOptions(settings, deps, marks));
  await deps.accepted.write(marksAfter(marks, verified.accepted, verified.signers, settings.trustedKeys, deps.now()));
  const release = releaseToInstall(verified.signed, req.version, installed);
  const deviceId = await ownDeviceId(deps);
  let facts: MacFacts;
  try {
    facts = await deps.facts();
  } catch (err) {
    throw new HelperError(
      'DEVICE_FACTS_UNKNOWN',
      `the helper cannot read this Mac's facts (${messageOf(err)}), so it cannot tell which package runs here; check the helper's --sw-vers and --sysctl`,
    );
  }
  // A version rolled back on this Mac is never installed again; choose v2 never sees it.
  const quarantined = await quarantinedOf(deps);
  refuseQuarantined(release.version, quarantined);
  const offered = { ...verified.signed, releases: withoutQuarantined(verified.signed.releases, quarantined) };
  const artifact = artifactToInstall(offered, {
    release,
    arch: req.arch,
    installed: installed!,
    deviceId,
    facts,
    now: deps.now(),
  });
  return { version: release.version, size: artifact.size, sha256: artifact.sha256 };
}

function quarantinedOf(deps: InstallDeps): Promise<string[]> {
  return deps.gate?.quarantined() ?? Promise.resolve([]);
}

/** The rollback check against the highest mark of a key still trusted (schema/accepted-marks.ts). */
function verifyOptions(settings: InstallSettings, deps: InstallDeps, marks: AcceptedMarks | null) {
  const now = deps.now();
  const previous = markToCheck(marks, settings.trustedKeys, now);
  return { trustedKeys: settings.trustedKeys, channel: settings.channel, now, previous };
}

async function verifiedInstall(
  req: InstallRequest,
  owner: number,
  installed: string | null,
  deps: InstallDeps,
): Promise<InstallSuccess> {
  const { settings } = deps;
  const release =
    settings.spec === 2 ? await chooseSpec2(req, installed, deps) : await chooseSpec1(req, installed, deps);
  const staged = await stagePackage(
    req.pkg_path,
    settings.stagingDir,
    { size: release.size, sha256: release.sha256 },
    owner,
  ).catch((err: unknown) => {
    throw uniformRefusal(err, req.pkg_path);
  });
  let installedOk = false;
  try {
    // Who signed it, on the root-only copy after size and SHA-256; any refusal ends here.
    await checkSignature(staged, settings, deps.runInstaller);
    // The health gate: P's kept package re-hashed and `pending` written durably first.
    await deps.gate?.before(installed!, release, isAgent(owner, deps.agentUid));
    const start = (onStart?: (pid: number) => void) =>
      deps.runInstaller(
        settings.installer,
        installerArgs(settings.installerArgs, staged),
        settings.installerTimeoutMs,
        onStart,
      );
    // Under the install marker (install-marker.ts): one installer at a time, across restarts too.
    const run =
      deps.marker !== undefined ? await deps.marker.around(staged, settings.installerTimeoutMs, start) : await start();
    const details = { output_tail: run.outputTail, ...(run.exitCode !== null ? { exit_code: run.exitCode } : {}) };
    if (run.spawnError !== undefined) {
      // The helper's own setup (gone, or no longer executable), not the package: its own code,
      // so the agent does not count it toward the package's cool-down.
      throw new HelperError(
        'INSTALLER_UNAVAILABLE',
        `the installer ${settings.installer} could not be started: ${run.spawnError}; check the helper's --installer`,
        details,
      );
    }
    if (run.timedOut) {
      throw new HelperError(
        'INSTALLER_TIMEOUT',
        `the installer ran longer than ${settings.installerTimeoutMs / 1000} s and was killed; the system may need a look`,
        details,
      );
    }
    if (run.exitCode !== 0) {
      const how = run.exitCode === null ? `was ended by ${run.signal ?? 'a signal'}` : `exited with ${run.exitCode}`;
      throw new HelperError('INSTALLER_FAILED', `the installer ${how}; see output_tail`, details);
    }
    // A package that "installs" but leaves another version in place would be offered and
    // installed again at every check: report it, so the agent counts it toward the cool-down.
    const after = await deps.installedVersion();
    if (after === null || compareVersions(after, release.version) !== 0) {
      throw new HelperError(
        'INSTALL_NOT_EFFECTIVE',
        `the installer exited 0 but the installed version is ${after ?? 'unknown'}, not ${release.version}; the package does not install the release it is listed as`,
        details,
      );
    }
    installedOk = true;
    return {
      v: 1,
      id: req.id,
      ok: true,
      outcome: 'installed',
      version: release.version,
      exit_code: 0,
      output_tail: run.outputTail,
    };
  } finally {
    await deps.gate?.after(installedOk, staged, release);
    await removeStaged(staged);
  }
}

/** What staging says of the file at pkg_path, which any local user may name. */
const ABOUT_THE_FILE: ReadonlySet<string> = new Set([
  'PKG_NOT_FOUND',
  'PKG_UNSAFE_PATH',
  'PKG_NOT_OWNED',
  'PKG_SIZE_MISMATCH',
  'PKG_HASH_MISMATCH',
]);

/**
 * A file-existence oracle as root: the helper opens any path a client names, so distinct answers
 * (not found, not a regular file, not the client's, another size, another hash) would let another
 * user probe inside folders only root can read. One refusal for all of them, in the reply and in the log.
 */
function uniformRefusal(err: unknown, pkgPath: string): unknown {
  if (!(err instanceof HelperError) || !ABOUT_THE_FILE.has(err.code)) return err;
  return new HelperError(
    'PKG_REFUSED',
    `package ${pkgPath} cannot be installed: it must be the regular file (not a link) the agent downloaded, owned by its uid, with the size and SHA-256 the manifest declares; download it again`,
  );
}

/** Any error as a HelperError: our codes pass through, anything unexpected becomes INTERNAL. */
export function asHelperError(err: unknown): HelperError {
  if (err instanceof HelperError) return err;
  if (err instanceof MngdError && err.code.startsWith('MANIFEST_'))
    return new HelperError(err.code as HelperError['code'], err.message);
  return new HelperError('INTERNAL', `unexpected error in the helper: ${messageOf(err)}`);
}
