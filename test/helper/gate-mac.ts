/**
 * A simulated Mac for the health-gate tests: a real `mngd-helper serve` that installed 1.0.3 itself
 * (so it keeps 1.0.3's package), packages 1.0.3–1.0.5 beside it, and readers of its state files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestInstall } from '../../helper/client.js';
import type { SigningKey } from '../../schema/keys.js';
import { testTls } from '../support/tls.js';
import { makePkg, releaseOf, signedManifest, startHelper, type HelperProcess, type TestPkg } from './harness.js';

export interface GateMac {
  helper: HelperProcess;
  work: string;
  pkgs: Record<string, TestPkg>;
  log(): string;
  /** the helper's `pending.json`, parsed; null when absent */
  pending(): Record<string, unknown> | null;
  /** the helper's `outbox.json` (outcomes not yet acknowledged), parsed; null when absent */
  outbox(): { events: { id: string; kind: string }[] } | null;
  /** installs `version` through the helper's socket, as the agent would, from a manifest offering `offered` */
  install(version: string, offered?: string[]): ReturnType<typeof requestInstall>;
}

function stateFile<T>(helper: HelperProcess, name: string): T | null {
  const f = join(helper.dir, 'state', name);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : null;
}

/** A Mac on 1.0.3 installed by this helper; `cleanup` gets its stop. */
export async function macOn103(
  key: SigningKey,
  cleanup: (() => Promise<unknown>)[],
  extraArgs: string[],
  env: Record<string, string> = {},
): Promise<GateMac> {
  const work = mkdtempSync(join(tmpdir(), 'mngd-gate-'));
  const pkgs: Record<string, TestPkg> = {};
  for (const v of ['1.0.3', '1.0.4', '1.0.5']) pkgs[v] = makePkg(work, v);
  const helper = await startHelper({ key, installed: '1.0.2', extraArgs, env });
  const mac: GateMac = {
    helper,
    work,
    pkgs,
    log: () => readFileSync(helper.logFile, 'utf8'),
    pending: () => stateFile(helper, 'pending.json'),
    outbox: () => stateFile(helper, 'outbox.json'),
    install: (version, offered = [version]) =>
      requestInstall(helper.socket, {
        manifest: signedManifest(
          offered.map((v) => releaseOf(pkgs[v]!)),
          [key],
        ),
        version,
        pkg_path: pkgs[version]!.path,
      }),
  };
  // The Mac's helper at the end (a test may restart it as mac.helper), and the first one's folder.
  cleanup.push(async () => {
    await mac.helper.stop();
    for (const d of new Set([work, helper.dir, mac.helper.dir])) rmSync(d, { recursive: true, force: true });
  });
  assert.equal((await mac.install('1.0.3')).ok, true);
  return mac;
}

/** The agent's flags for this Mac: its helper, version file and own folders, the loopback CA, a device id. */
export function agentFlags(mac: GateMac, key: SigningKey, manifestUrl: string, deviceId: string): string[] {
  return [
    '--manifest-url',
    manifestUrl,
    '--trusted-key',
    key.public_key,
    '--version-file',
    mac.helper.versionFile,
    '--state-dir',
    join(mac.work, 'agent-state'),
    '--helper-socket',
    mac.helper.socket,
    '--log-file',
    join(mac.work, 'agent.log'),
    '--ca-file',
    testTls().caFile,
    '--device-id',
    deviceId,
  ];
}
