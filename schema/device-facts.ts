/**
 * A Mac's facts for choosing (docs/DESIGN.md), read from what macOS's own tools print. Pure:
 * the agent and the helper each run the commands themselves (helper/device-facts.ts) and hand
 * the results here, so both read the same facts the same way and neither takes the other's word.
 *
 *   sw_vers -productVersion          12.7.6            the macOS product version, never Darwin's
 *   sysctl -n hw.optional.arm64      1 | 0             Apple silicon; on Intel the key is absent:
 *                                                      "sysctl: unknown oid 'hw.optional.arm64'", exit 1
 *   sysctl -n sysctl.proc_translated 1 | 0             this process runs under Rosetta; absent on Intel
 *
 * The hardware decides the artifact, not the process: an x86_64 agent under Rosetta runs on
 * Apple silicon and takes the arm64 build (electron-builder #5616, #6694 went by process.arch).
 */
import type { HardwareArch } from './choose2.js';
import { ValidationError } from './errors.js';
import { isMacosVersion } from './macos.js';

/** What one command did: its exit code (null: it could not be started or was killed) and output. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** why it could not be started or finished (ENOENT, a time-out), when it could not */
  error?: string;
}

export interface MacFacts {
  /** macOS product version, as sw_vers prints it */
  macos: string;
  /** the hardware, whatever the process runs as */
  hwArch: HardwareArch;
  /** the reading process runs under Rosetta (x86_64 code on arm64 hardware) */
  translated: boolean;
}

/** The facts cannot be read: the agent skips this check (never blocks checkin), the helper refuses. */
export class DeviceFactsError extends ValidationError<'DEVICE_FACTS'> {
  constructor(message: string) {
    super('DEVICE_FACTS', message);
  }
}

function shown(r: CommandResult): string {
  if (r.error !== undefined) return r.error;
  const out = (r.stderr.trim() || r.stdout.trim()).slice(0, 200);
  return `exit ${r.exitCode ?? 'none'}${out === '' ? '' : `: ${JSON.stringify(out)}`}`;
}

/** The macOS product version sw_vers printed. */
export function macosFromSwVers(command: string, r: CommandResult): string {
  if (r.exitCode !== 0) throw new DeviceFactsError(`${command} failed (${shown(r)})`);
  const v = r.stdout.trim();
  // 10.16 is what macOS 11+ tells a process in compatibility mode (SYSTEM_VERSION_COMPAT=1): it
  // names no real macOS, and comparing it would take a Mac on 14 for one older than 11.
  if (!isMacosVersion(v) || v === '10.16')
    throw new DeviceFactsError(
      `${command} printed ${JSON.stringify(v.slice(0, 40))}, not a macOS product version such as 13.6.1`,
    );
  return v;
}

/** A sysctl flag: true for 1, false for 0 or a key this Mac does not have (Intel); else an error. */
function sysctlFlag(command: string, key: string, r: CommandResult): boolean {
  const out = r.stdout.trim();
  if (r.exitCode === 0 && (out === '0' || out === '1')) return out === '1';
  if (r.exitCode === 1 && /unknown oid/.test(r.stderr)) return false;
  throw new DeviceFactsError(`${command} -n ${key} failed (${shown(r)}); expected 1, 0 or "unknown oid"`);
}

/** The hardware from the two sysctl answers. */
export function hardwareFromSysctl(
  command: string,
  arm64: CommandResult,
  translated: CommandResult,
): Pick<MacFacts, 'hwArch' | 'translated'> {
  const isArm = sysctlFlag(command, 'hw.optional.arm64', arm64);
  const isTranslated = sysctlFlag(command, 'sysctl.proc_translated', translated);
  // Rosetta exists only on Apple silicon: a translated process proves arm64 hardware.
  return { hwArch: isArm || isTranslated ? 'arm64' : 'x86_64', translated: isTranslated };
}

/** For log lines: "macOS 12.7.6, x86_64", "macOS 14.6, arm64 (this process under Rosetta)". */
export function describeFacts(f: MacFacts): string {
  return `macOS ${f.macos}, ${f.hwArch}${f.translated ? ' (this process under Rosetta)' : ''}`;
}
