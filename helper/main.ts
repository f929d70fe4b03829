/** `mngd-helper serve | ping`: flag parsing, wiring of the real parts, exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { flagsError } from '../schema/cli-args.js';
import { MngdError, UsageError, ValidationError, messageOf } from '../schema/errors.js';
import { defaults, resolveConfig, SERVE_OPTIONS, type HelperConfig } from './config.js';
import { resolveGroup } from './group.js';
import { install } from './install.js';
import { checkInstaller, runInstaller } from './installer.js';
import { fileLogger } from './log.js';
import { ping } from './client.js';
import { defaultSocketPath } from './protocol.js';
import { startServer, type RunningServer } from './server.js';
import { fileAcceptedStore, readInstalledVersion } from './state.js';

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
  --socket PATH              the Unix socket (default: ${defaultSocketPath()})
  --socket-group NAME|GID    make the socket 0660 with this group (default: 0600, owner only)
  --staging DIR              root-only staging folder, re-created when its mode or owner is wrong
                             (default: <state dir>/staging)
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
  --state-dir DIR            where the highest manifest sequence accepted is kept
  --idle-timeout SEC         close connections that send no request this long (default: 10)

Exit status: 0 stopped cleanly (SIGTERM); 1 a config file is invalid; 2 called wrongly;
3 the socket could not be served or the helper did not answer (ping).
`;

function resolveDefault(key: 'versionFile' | 'logFile'): string {
  return defaults()[key];
}

/** Starts serving with the real parts. */
export async function serve(config: HelperConfig): Promise<RunningServer> {
  const log = fileLogger(config.logFile);
  const installedVersion = () => readInstalledVersion(config.versionFile);
  return startServer({
    socketPath: config.socketPath,
    socketGid: config.socketGroup === null ? null : resolveGroup(config.socketGroup),
    idleTimeoutMs: config.idleTimeoutMs,
    installedVersion,
    install: (req) =>
      install(req, {
        settings: config,
        now: () => new Date(),
        installedVersion,
        accepted: fileAcceptedStore(config.stateDir, config.channel),
        runInstaller,
        log,
      }),
  });
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    (cmd === undefined ? io.stderr : io.stdout).write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd !== 'serve' && cmd !== 'ping') {
    io.stderr.write(`mngd-helper: unknown command "${cmd}"; commands: serve, ping. Run "mngd-helper --help".\n`);
    return 2;
  }
  try {
    const options: ParseArgsConfig['options'] = {
      ...(cmd === 'serve' ? SERVE_OPTIONS : { socket: { type: 'string' } }),
      help: { type: 'boolean', short: 'h' },
    };
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false });
    } catch (err) {
      io.stderr.write(`mngd-helper ${cmd}: ${flagsError(err, options)}\nRun "mngd-helper ${cmd} --help" for usage.\n`);
      return 2;
    }
    const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
    if (values.help === true) {
      io.stdout.write(HELP);
      return 0;
    }
    if (cmd === 'ping') {
      const socket = typeof values.socket === 'string' ? values.socket : defaultSocketPath();
      const reply = await ping(socket);
      if (!reply.ok) {
        io.stderr.write(`mngd-helper ping: ${reply.error.code}: ${reply.error.message}\n`);
        return 3;
      }
      io.stdout.write(`${reply.installed_version ?? 'unknown'}\n`);
      return 0;
    }
    const config = resolveConfig(values);
    // Before anything is bound: a helper that cannot run its installer must not look healthy.
    await checkInstaller(config.installer);
    const running = await serve(config);
    const log = fileLogger(config.logFile);
    log.line(
      `helper listening on ${config.socketPath} (channel ${config.channel}, ${config.trustedKeys.length} trusted key(s))`,
    );
    io.stdout.write(`mngd-helper: listening on ${config.socketPath}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        log.line(`helper stopping on ${signal}`);
        void running.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    io.stdout.write('mngd-helper: stopped\n');
    return 0;
  } catch (err) {
    const tag = err instanceof MngdError ? ` [${err.code}]` : '';
    io.stderr.write(`mngd-helper ${cmd}: ${messageOf(err)}${tag}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`Run "mngd-helper ${cmd} --help" for usage.\n`);
      return 2;
    }
    if (err instanceof ValidationError) return 1;
    return 3;
  }
}
