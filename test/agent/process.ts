/** Runs the real `mngd-agent` bin (dist/agent/cli.js) as a child process, for the tests. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchOf } from '../../scripts/package/launch.js';
import { testTls } from '../support/tls.js';
import type { Cdn, Signer } from './support.js';

export const AGENT_BIN = fileURLToPath(new URL('../../agent/cli.js', import.meta.url));

export interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startAgent(args: string[], options: Omit<SpawnOptions, 'stdio'> = {}): Child {
  // The dist/ bin (its shebang's node flags apply), or the single executable (MNGD_BIN_DIR).
  const run = launchOf('mngd-agent', args, options.env ?? process.env);
  const proc = spawn(run.command, run.args, { ...options, env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  proc.stdout?.on('data', (c: Buffer) => (child.stdout += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (child.stderr += c.toString()));
  return child;
}

/** Runs the bin to its end; resolves once all its output is read ('close', not 'exit'). */
export function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startAgent(args);
  return new Promise((resolve) =>
    child.proc.once('close', (code) => resolve({ code, stdout: child.stdout, stderr: child.stderr })),
  );
}

/** Writes an agent config file for the loopback CDN and the stand-in helper; returns its path. */
export async function writeAgentConfig(
  dir: string,
  cdn: Cdn,
  signer: Signer,
  helperSocket: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const path = join(dir, 'agent.json');
  await writeFile(
    path,
    JSON.stringify({
      manifest_url: cdn.manifestUrl,
      trusted_keys: [signer.publicKey],
      state_dir: join(dir, 'state'),
      log_file: join(dir, 'logs', 'mngd.log'),
      helper_socket: helperSocket,
      ca_file: testTls().caFile,
      current_version: '1.0.2',
      ...extra,
    }),
  );
  return path;
}

/** Waits (polling) until `cond` holds; for state that only the file system can tell. */
export async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
