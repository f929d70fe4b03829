/** `mngd-helper serve | ping`: the wiring of the real parts, on the bins' shared skeleton (schema/bin.ts). */
import { runBin, type Bin, type BinCommand } from '../schema/bin.js';
import { messageOf, SettingsError } from '../schema/errors.js';
import { PACKAGE_VERSION } from '../schema/package-version.js';
import { EXIT } from '../schema/exit.js';
import { defaults, resolveConfig, SERVE_OPTIONS, type HelperConfig } from './config.js';
import { resolveGroup, resolveUser } from './group.js';
import { ensureDeviceId, readDeviceId } from './device-id.js';
import { commandFacts } from './device-facts.js';
import { acceptManifest } from './follow.js';
import { HealthGate } from './health.js';
import { install } from './install.js';
import { checkInstaller, installerArgs, runInstaller } from './installer.js';
import type { KeptPackage } from './kept.js';
import { ensureStagingDir, removeStaged, stagePackage } from './staging.js';
import { InstallMarkerStore } from './install-marker.js';
import { fileLogger } from './log.js';
import { ping } from './client.js';
import { defaultDeviceIdFile, defaultSocketPath, HelperError } from './protocol.js';
import { startServer, type RunningServer } from './server.js';
import { fileAcceptedStore, readInstalledVersion } from './state.js';
import { sweepStaging } from './sweep.js';

export interface Io {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
}

const HELP = `mngd-helper: the privileged install service for the mngd agent's self-update

Usage:
  mngd-helper serve [flags]           listen on the socket and install what it verified itself
  mngd-helper ping [--socket PATH]    ask a running helper for the installed version

Flags of serve (each may also be set in the --config JSON file, as socket_group etc.):
  --config FILE              JSON config file; flags override it
  --socket PATH              the Unix socket (default: ${defaultSocketPath()}); clients prove their
                             uid with files in <socket>.proofs beside it
  --socket-group NAME|GID    make the socket 0660 with this group (default: 0600, owner only), and
                             the proof folder 0710 with it (default: 0700)
  --agent-user NAME|UID      the user the agent runs as: only it (proven) or root may send the
                             health gate's started, health_ok and events_ack (default: nobody)
  --staging DIR              root-only staging folder, re-created when its mode or owner is wrong;
                             every folder on the way must be root-owned and not group/other-
                             writable (a root sticky folder such as /tmp is fine), or serve
                             refuses to start (default: <state dir>/staging)
  --version-file PATH        the installed version, one line (default: ${resolveDefault('versionFile')})
  --installer PATH           the installer program, checked at start (default: /usr/sbin/installer)
  --installer-arg=ARG        repeatable; replaces the default "-pkg {pkg} -target /"; {pkg} is the staged
                             package. Write it with "=" (ARG may start with "-"); the default spelled out:
                             --installer-arg=-pkg --installer-arg={pkg} --installer-arg=-target --installer-arg=/
  --installer-timeout SEC    kill the installer after this long (default: 600)
  --trusted-key BASE64       a trusted Ed25519 public key, repeatable (the agent's keys)
  --keys-file FILE           trusted public keys, one base64 key per line
  --channel NAME             the channel whose manifests are accepted (default: stable)
  --log-file PATH            its own log of SelfUpdate lines (default: ${resolveDefault('logFile')})
  --state-dir DIR            its state: the highest manifest sequence accepted, the health gate's
                             kept packages, pending and outbox, the install marker
                             (default: ${resolveDefault('stateDir')})
  --device-id-file PATH      the machine's device id (its rollout cohort), created once if missing;
                             the agents read the same file (default: ${defaultDeviceIdFile()})
  --ioreg PATH               a new id is SHA-256 of a fixed salt and the hardware UUID this ioreg
                             prints (default: /usr/sbin/ioreg on a Mac; elsewhere a random id)
  --idle-timeout SEC         close connections that send no request this long (default: 10)
  --spec 1|2                 the manifest spec followed, as the agent's manifest_spec (default: 1); a spec-2
                             helper accepts spec-2 manifests only and chooses with choose v2 itself
  --sw-vers PATH             prints the macOS product version (default: /usr/bin/sw_vers)
  --sysctl PATH              answers hw.optional.arm64 and sysctl.proc_translated (default: /usr/sbin/sysctl);
                             the helper reads the Mac's facts itself and never takes the agent's word
  --team-id ID               repeatable: the Team IDs whose Developer ID Installer may sign the package
                             (two during a migration); with it, each staged copy must pass
                             pkgutil --check-signature and spctl -a -vv -t install (notarized)
                             before the installer runs (default: none, no signature check)
  --pkgutil PATH, --spctl PATH   the tools (default: /usr/sbin/pkgutil, /usr/sbin/spctl)
  --signature-timeout SEC    kill pkgutil or spctl after this long (default: 120)
  --health-deadline SEC      a new version has this long to report health_ok, else the one before it
                             is put back from the package kept (default: 14400, four hourly checks)
  --health-stable SEC        the window for counting the agent's starts (default: 3600)
  --health-max-restarts N    more starts than this within --health-stable is a crash loop: put the
                             version before back (default: 5)
  --rollback-retry SEC,...   a rollback whose install failed is tried again after these waits, the
                             last repeating, each ±20 %, at least 1 (default: 30,120,600,1800)

Exit status: 0 stopped cleanly (SIGTERM); 2 called wrongly or a setting is wrong (a flag, the config
or keys file, the installer: the message says which); 3 the socket (or its proof folder) could not
be served or the helper did not answer (ping).
`;

function resolveDefault(key: 'versionFile' | 'logFile' | 'stateDir'): string {
  return defaults()[key];
}

/**
 * The rollback's install: the kept package is copied into staging and the copy re-hashed against
 * what was kept (stagePackage), then installed under the install marker, as any install (BUSY
 * while an earlier helper's installer runs; a restart during it waits for this installer); it must
 * leave `kept.version` installed.
 */
async function reinstallKept(
  config: HelperConfig,
  marker: InstallMarkerStore,
  pkgPath: string,
  kept: KeptPackage,
  installedVersion: () => Promise<string | null>,
): Promise<void> {
  // The helper's own kept package: root's.
  const staged = await stagePackage(
    pkgPath,
    config.stagingDir,
    { size: kept.size, sha256: kept.sha256 },
    process.getuid?.() ?? 0,
  );
  try {
    const run = await marker.around(staged, config.installerTimeoutMs, (onStart) =>
      runInstaller(config.installer, installerArgs(config.installerArgs, staged), config.installerTimeoutMs, onStart),
    );
    if (run.exitCode !== 0)
      throw new HelperError(
        'INSTALLER_FAILED',
        `the installer ${run.spawnError ?? (run.timedOut ? 'timed out' : `exited with ${run.exitCode ?? run.signal}`)}`,
      );
    const after = await installedVersion();
    if (after !== kept.version)
      throw new HelperError(
        'INSTALL_NOT_EFFECTIVE',
        `the installer exited 0 but ${after ?? 'no version'} is installed, not ${kept.version}`,
      );
  } finally {
    await removeStaged(staged);
  }
}

/** Starts serving with the real parts. */
export async function serve(config: HelperConfig): Promise<RunningServer> {
  // Before anything is bound: a staging folder another user could swap is a setting to fix (exit 2).
  await ensureStagingDir(config.stagingDir).catch((err: unknown) => {
    if (err instanceof HelperError && err.code === 'STAGING_UNSAFE')
      throw new SettingsError<'STAGING_UNSAFE'>(`--staging: ${err.message}`, 'STAGING_UNSAFE');
    throw err;
  });
  const log = fileLogger(config.logFile);
  const installedVersion = () => readInstalledVersion(config.versionFile);
  const accepted = fileAcceptedStore(config.stateDir, config.channel, config.spec, log);
  const facts = commandFacts(config.factsCommands);
  const now = () => new Date();
  const marker = new InstallMarkerStore(config.stateDir, config.stagingDir, log, now);
  const gate = new HealthGate(config.stateDir, {
    settings: config,
    log,
    now,
    installedVersion,
    reinstall: (pkgPath, kept) => reinstallKept(config, marker, pkgPath, kept, installedVersion),
    earlierInstaller: () => marker.orphanRunning(),
    exclusive: (fn) => accepted.exclusive(fn),
  });
  const agentUid = resolveUser(config.agentUser);
  let sweptAtStart: () => void = () => undefined;
  const swept = new Promise<void>((resolve) => (sweptAtStart = resolve));
  const running = await startServer({
    socketPath: config.socketPath,
    socketGid: config.socketGroup === null ? null : resolveGroup(config.socketGroup),
    agentUid,
    idleTimeoutMs: config.idleTimeoutMs,
    installedVersion,
    install: async (req, uid) => {
      await swept;
      return install(req, uid, {
        settings: config,
        now,
        installedVersion,
        deviceId: () => readDeviceId(config.deviceIdFile),
        facts,
        accepted,
        marker,
        runInstaller,
        log,
        gate,
        agentUid,
      });
    },
    manifest: (req) => acceptManifest(req, { settings: config, now, accepted, log }),
    health: (req) => accepted.exclusive(() => gate.message(req)),
  });
  // Once the socket is ours (never under another helper's feet): copies left by a helper killed
  // while staging or installing go, except the one an installer of that helper still reads.
  // Installs wait for this sweep (and the gate's start), so it never removes a copy being made.
  await sweepStaging(config.stagingDir, await marker.orphanStaged(), log).catch((err: unknown) =>
    log.warn(`SelfUpdate: helper could not sweep ${config.stagingDir}: ${messageOf(err)}`),
  );
  // Installs wait for the gate too: one arriving before it has read its record would overwrite it.
  await gate
    .start()
    .catch((err: unknown) => log.error(`SelfUpdate: helper could not read its pending record: ${messageOf(err)}`));
  sweptAtStart();
  // A stop ends the gate's timer first (a rollback's next attempt waits on it) and no rollback starts
  // after it: no installer starts meanwhile; a rollback in progress, as an install, ends first.
  const closing: RunningServer = {
    server: running.server,
    close: async () => {
      await Promise.all([gate.close(), running.close()]);
    },
  };
  // Once the socket is served (a helper that cannot serve creates nothing): agents read this id too.
  try {
    await ensureDeviceId(config.deviceIdFile, config.ioreg);
  } catch (err) {
    await closing.close();
    throw err;
  }
  return closing;
}

const serveCommand: BinCommand<Io> = {
  help: HELP,
  options: SERVE_OPTIONS,
  async run(args, io) {
    const config = resolveConfig(args.values);
    // Before anything is bound: a helper that cannot run its installer must not look healthy.
    await checkInstaller(config.installer);
    const running = await serve(config);
    const log = fileLogger(config.logFile);
    log.info(
      `helper listening on ${config.socketPath} (channel ${config.channel}, spec ${config.spec}, ${config.trustedKeys.length} trusted key(s))`,
    );
    io.stdout.write(`mngd-helper: listening on ${config.socketPath}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        log.info(`helper stopping on ${signal}`);
        void running.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    io.stdout.write('mngd-helper: stopped\n');
    return EXIT.OK;
  },
};

const pingCommand: BinCommand<Io> = {
  help: HELP,
  options: { socket: { type: 'string' } },
  async run(args, io) {
    const socket = typeof args.values['socket'] === 'string' ? args.values['socket'] : defaultSocketPath();
    const reply = await ping(socket);
    if (!reply.ok) {
      io.stderr.write(`mngd-helper ping: ${reply.error.message} [${reply.error.code}]\n`);
      return EXIT.EXTERNAL;
    }
    io.stdout.write(`${reply.installed_version ?? 'unknown'}\n`);
    return EXIT.OK;
  },
};

const HELPER_BIN: Bin<Io> = {
  name: 'mngd-helper',
  help: () => HELP,
  version: () => PACKAGE_VERSION,
  commands: [
    { name: 'serve', load: () => serveCommand },
    { name: 'ping', load: () => pingCommand },
  ],
};

export function main(argv: readonly string[], io: Io): Promise<number> {
  return runBin(HELPER_BIN, argv, io);
}
