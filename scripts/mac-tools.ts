/**
 * Stand-ins for macOS's `sw_vers` and `sysctl` on Linux: real programs (sh scripts) that print
 * exactly what the real ones print on each kind of Mac, failures included. The agent and the
 * helper run them as they would run /usr/bin/sw_vers and /usr/sbin/sysctl (through config), in
 * the tests and in the demo.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FactsCommands } from '../helper/device-facts.js';

/** intel: no hw.optional.arm64 (unknown oid, exit 1); apple: native arm64; rosetta: an x86_64 process on Apple silicon. */
export type MacKind = 'intel' | 'apple' | 'rosetta';

const sh = (body: string) => `#!/bin/sh\n${body}\n`;

/** Writes `sw_vers` and `sysctl` into `dir` for a Mac on `macos` of `kind`; `swVersFails` makes sw_vers exit 1. */
export function macTools(
  dir: string,
  macos: string,
  kind: MacKind,
  opts: { swVersFails?: boolean } = {},
): FactsCommands {
  mkdirSync(dir, { recursive: true });
  const swVers = join(dir, 'sw_vers');
  const sysctl = join(dir, 'sysctl');
  const absent = (key: string) => `echo "sysctl: unknown oid '${key}'" >&2; exit 1`;
  const arm64 = kind === 'intel' ? absent('hw.optional.arm64') : 'echo 1';
  const translated = kind === 'intel' ? absent('sysctl.proc_translated') : kind === 'rosetta' ? 'echo 1' : 'echo 0';
  writeFileSync(
    swVers,
    sh(
      opts.swVersFails
        ? 'echo "sw_vers: unable to read /System/Library/CoreServices/SystemVersion.plist" >&2; exit 1'
        : `case "$1" in
  -productVersion) echo ${macos} ;;
  -buildVersion) echo 21H1320 ;;
  -productName) echo macOS ;;
  "") printf 'ProductName:\\t\\tmacOS\\nProductVersion:\\t\\t${macos}\\nBuildVersion:\\t\\t21H1320\\n' ;;
  *) echo "usage: sw_vers [-productName|-productVersion|-buildVersion]" >&2; exit 1 ;;
esac`,
    ),
  );
  writeFileSync(
    sysctl,
    sh(`[ "$1" = "-n" ] || { echo "stand-in sysctl: only -n KEY" >&2; exit 2; }
case "$2" in
  hw.optional.arm64) ${arm64} ;;
  sysctl.proc_translated) ${translated} ;;
  *) echo "sysctl: unknown oid '$2'" >&2; exit 1 ;;
esac`),
  );
  chmodSync(swVers, 0o755);
  chmodSync(sysctl, 0o755);
  return { swVers, sysctl };
}
