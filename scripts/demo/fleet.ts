/**
 * A small fleet of simulated Macs for the demo and the end-to-end test: each device has its own
 * real `mngd-helper serve` process (with the stand-in installer), its own version file, and runs
 * the real `mngd-agent check --once` as a child process, as launchd would run the agent. Given
 * each Mac's macOS and hardware (`macs`), agent and helper read spec 2 and those facts through
 * stand-in sw_vers and sysctl (mac-tools.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckResult } from '../../agent/check.js';
import type { FactsCommands } from '../../helper/device-facts.js';
import { launchOf } from '../package/launch.js';
import { macTools, type MacKind } from '../mac-tools.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const STAND_IN_INSTALLER = join(ROOT, 'scripts', 'demo', 'stand-in-installer.sh');

export interface FleetOptions {
  dir: string;
  size: number;
  initialVersion: string;
  manifestUrl: string;
  trustedKey: string;
  caFile: string;
  /** the devices' ids (default mac-01, mac-02, …; `size` must match) */
  ids?: readonly string[];
  /** spec 2: each Mac's macOS and hardware, by index (one per device: `size` must match) */
  macs?: readonly Mac[];
  /** more environment for every agent and helper (the simulated clock, sim-clock.ts) */
  env?: NodeJS.ProcessEnv;
  /** more flags for every helper (the bad-updater story: a short --health-deadline) */
  helperArgs?: string[];
  /** more environment for one device's helper, so its stand-in installer (MNGD_DEMO_FAIL_VERSION) */
  helperEnv?: (d: Device) => Record<string, string>;
}

/** A Mac's facts: its macOS product version and its hardware (`rosetta`: an x86_64 agent on Apple silicon). */
export interface Mac {
  macos: string;
  kind: MacKind;
}

export interface Device {
  id: string;
  dir: string;
  versionFile: string;
  socket: string;
  helper: ChildProcess | null;
  /** spec 2: its facts, and the stand-in sw_vers and sysctl that print them */
  mac?: Mac;
  tools?: FactsCommands;
}

export interface CheckRun {
  device: Device;
  code: number;
  result: CheckResult | null;
  stderr: string;
}

/** The i-th (0-based) device's id: mac-01, mac-02, … */
export function deviceId(i: number): string {
  return `mac-${String(i + 1).padStart(2, '0')}`;
}

export class Fleet {
  readonly devices: Device[];
  /** every helper process ever started, so a caller can prove none is left running */
  readonly helperPids: number[] = [];

  constructor(readonly opts: FleetOptions) {
    for (const [what, list] of [
      ['ids', opts.ids],
      ["Macs' facts", opts.macs],
    ] as const)
      if (list !== undefined && list.length !== opts.size)
        throw new Error(`the fleet has ${opts.size} devices but ${list.length} ${what}`);
    this.devices = Array.from({ length: opts.size }, (_, i) => {
      const id = opts.ids?.[i] ?? deviceId(i);
      const dir = join(opts.dir, id);
      mkdirSync(dir, { recursive: true });
      const versionFile = join(dir, 'VERSION');
      writeFileSync(versionFile, `${opts.initialVersion}\n`);
      // The machine's device id, as the helper creates it on a Mac; agent and helper both read it.
      writeFileSync(join(dir, 'device-id'), `${id}\n`);
      const mac = opts.macs?.[i];
      const facts = mac === undefined ? {} : { mac, tools: macTools(join(dir, 'mac-tools'), mac.macos, mac.kind) };
      return { id, dir, versionFile, socket: join(dir, 'helper.sock'), helper: null, ...facts };
    });
  }

  /** spec 2: the flags that give a program the Mac's facts (the helper's `--spec 2` besides). */
  private factsArgs(d: Device): string[] {
    return d.tools === undefined ? [] : ['--sw-vers', d.tools.swVers, '--sysctl', d.tools.sysctl];
  }

  version(d: Device): string {
    return readFileSync(d.versionFile, 'utf8').trim();
  }

  versions(): Map<string, string> {
    return new Map(this.devices.map((d) => [d.id, this.version(d)]));
  }

  /** Starts the device's helper and resolves once it listens. */
  startHelper(d: Device): Promise<void> {
    // node dist/helper/cli.js, or the single executable (MNGD_BIN_DIR, scripts/package/launch.ts).
    const run = launchOf(
      'mngd-helper',
      [
        'serve',
        '--socket',
        d.socket,
        '--staging',
        join(d.dir, 'staging'),
        '--version-file',
        d.versionFile,
        '--installer',
        STAND_IN_INSTALLER,
        '--installer-timeout',
        '120',
        '--trusted-key',
        this.opts.trustedKey,
        '--channel',
        'stable',
        '--log-file',
        join(d.dir, 'helper.log'),
        '--state-dir',
        join(d.dir, 'helper-state'),
        '--device-id-file',
        join(d.dir, 'device-id'),
        // The demo's agents run as this user, not as nobody: the gate takes their started and health_ok.
        '--agent-user',
        String(process.getuid?.() ?? 0),
        ...(d.tools === undefined ? [] : ['--spec', '2']),
        ...this.factsArgs(d),
        ...(this.opts.helperArgs ?? []),
      ],
      { ...process.env, ...this.opts.env, MNGD_DEMO_VERSION_FILE: d.versionFile, ...this.opts.helperEnv?.(d) },
    );
    const child = spawn(run.command, run.args, { env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
    d.helper = child;
    if (child.pid !== undefined) this.helperPids.push(child.pid);
    return new Promise((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      child.stdout!.on('data', (b: Buffer) => {
        if (b.toString().includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`helper of ${d.id} exited with ${code}: ${err.trim()}`)));
    });
  }

  async stopHelper(d: Device): Promise<void> {
    const child = d.helper;
    if (child === null || child.exitCode !== null) return;
    d.helper = null;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  async startHelpers(): Promise<void> {
    await Promise.all(this.devices.map((d) => this.startHelper(d)));
  }

  async stopHelpers(): Promise<void> {
    await Promise.all(this.devices.map((d) => this.stopHelper(d)));
  }

  /** The agent's flags on a device (its files, the CDN, the helper, its spec and facts), for `check` and `run`. */
  agentFlags(d: Device): string[] {
    return [
      '--manifest-url',
      this.opts.manifestUrl,
      '--trusted-key',
      this.opts.trustedKey,
      '--device-id-file',
      join(d.dir, 'device-id'),
      '--version-file',
      d.versionFile,
      '--state-dir',
      join(d.dir, 'agent-state'),
      '--helper-socket',
      d.socket,
      '--log-file',
      join(d.dir, 'agent.log'),
      '--ca-file',
      this.opts.caFile,
      '--connect-timeout',
      '30',
      '--read-timeout',
      '60',
      ...(d.tools === undefined ? [] : ['--manifest-spec', '2']),
      ...this.factsArgs(d),
    ];
  }

  /** One `mngd-agent check --once --json` on a device, as a real process. */
  check(d: Device): Promise<CheckRun> {
    // The dist/ bin (its shebang's node flags apply), or the single executable (MNGD_BIN_DIR).
    const run = launchOf('mngd-agent', ['check', '--once', '--json', ...this.agentFlags(d)], {
      ...process.env,
      ...this.opts.env,
    });
    const child = spawn(run.command, run.args, { env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        let result: CheckResult | null = null;
        try {
          result = JSON.parse(out) as CheckResult;
        } catch {
          result = null;
        }
        resolve({ device: d, code: code ?? -1, result, stderr: err });
      });
    });
  }

  /** Every device (or those given) checks once, a few at a time (as their jittered timers would spread them). */
  async checkAll(concurrency = 4, devices: readonly Device[] = this.devices): Promise<CheckRun[]> {
    const runs: CheckRun[] = new Array<CheckRun>(devices.length);
    let next = 0;
    const worker = async () => {
      while (next < devices.length) {
        const i = next++;
        runs[i] = await this.check(devices[i]!);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return runs;
  }
}
