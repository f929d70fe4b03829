/**
 * Commands that stream large packages run in a node with a small young generation: the 16 KiB
 * TLS reads of a multi-GiB download are short-lived garbage, and with the default (up to 16 MiB
 * semi-spaces) peak memory ends up ~20 MiB higher at no gain in speed (bench/verify-artifacts:
 * 112.7 MiB and 2.51 s by default, 92.5 MiB and 2.43 s with the flag). Node reads the flag only
 * at start-up, so the bin starts itself again with it for these commands.
 */
import { spawn } from 'node:child_process';

export const LEAN_FLAG = '--max-semi-space-size=1';
export const DOWNLOADING_COMMANDS: ReadonlySet<string> = new Set(['verify-artifacts', 'apply', 'import']);

/** True when `argv` (after the script) names a downloading command and this node lacks the flag. */
export function wantsLeanRestart(argv: readonly string[], execArgv: readonly string[]): boolean {
  return DOWNLOADING_COMMANDS.has(argv[0] ?? '') && !execArgv.some((a) => a.startsWith('--max-semi-space-size'));
}

/** Runs `script argv` in a new node with the flag, forwarding signals; resolves to its exit code. */
export function restartLean(script: string, argv: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, LEAN_FLAG, script, ...argv], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve) => {
    child.on('error', () => resolve(3));
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 143)));
  });
}
