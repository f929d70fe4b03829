/**
 * Reading a Mac's facts by running macOS's own tools (never through a shell, with a time-out):
 * `sw_vers -productVersion`, `sysctl -n hw.optional.arm64`, `sysctl -n sysctl.proc_translated`.
 * The helper runs its own configured commands, and so does the agent (it imports this): neither
 * takes the other's word for the hardware. The parsing is schema/device-facts.ts.
 */
import { execFile } from 'node:child_process';
import { hardwareFromSysctl, macosFromSwVers, type CommandResult, type MacFacts } from '../schema/device-facts.js';

export interface FactsCommands {
  /** prints the macOS product version with -productVersion (default /usr/bin/sw_vers) */
  swVers: string;
  /** answers -n hw.optional.arm64 and -n sysctl.proc_translated (default /usr/sbin/sysctl) */
  sysctl: string;
}

export const DEFAULT_FACTS_COMMANDS: FactsCommands = { swVers: '/usr/bin/sw_vers', sysctl: '/usr/sbin/sysctl' };

/** Reads the facts now; throws DeviceFactsError (DEVICE_FACTS) when a command fails or prints nonsense. */
export type FactsProvider = () => Promise<MacFacts>;

const TIMEOUT_MS = 10_000;

function run(command: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    // SYSTEM_VERSION_COMPAT=0: a process told to run in compatibility mode hears "10.16" on macOS
    // 11 and later; the product version is what requires compares against.
    const env = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', SYSTEM_VERSION_COMPAT: '0' };
    execFile(command, args, { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024, env }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e === null) return resolve({ exitCode: 0, stdout, stderr });
      if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout, stderr });
      const why = e.killed === true ? `no answer within ${TIMEOUT_MS / 1000} s` : e.message;
      resolve({ exitCode: null, stdout, stderr, error: `${command}: ${why}` });
    });
  });
}

/** The real provider: runs the configured commands each time it is asked (macOS may be updated meanwhile). */
export function commandFacts(commands: FactsCommands): FactsProvider {
  return async () => {
    const [version, arm64, translated] = await Promise.all([
      run(commands.swVers, ['-productVersion']),
      run(commands.sysctl, ['-n', 'hw.optional.arm64']),
      run(commands.sysctl, ['-n', 'sysctl.proc_translated']),
    ]);
    return {
      macos: macosFromSwVers(commands.swVers, version),
      ...hardwareFromSysctl(commands.sysctl, arm64, translated),
    };
  };
}
