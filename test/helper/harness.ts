/**
 * Test parts for the helper: signing keys, test packages, signed manifests, and the real
 * `mngd-helper serve` as a child process with the stand-in installer.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, signingKeyFromText, type SigningKey } from '../../schema/keys.js';
import { bucket } from '../../schema/choose.js';
import { signEnvelope } from '../../schema/signing.js';
import { MANIFEST_DEFAULTS, type Release } from '../../schema/types.js';
import { buildSignedManifest } from '../../pipeline/manifests/build.js';
import { launchOf } from '../../scripts/package/launch.js';

/** The repository root (tests run from dist/test/helper). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const STAND_IN = join(ROOT, 'test/support/stand-in-installer');
export const HELPER_CLI = join(ROOT, 'dist/helper/cli.js');

export function newKey(): SigningKey {
  return signingKeyFromText(generateSigningKey().privateKeyText);
}

export interface TestPkg {
  path: string;
  version: string;
  sha256: string;
  size: number;
}

/** A test package: first line "mngd-test-pkg <version>" (the stand-in reads it), then random bytes. */
export function makePkg(dir: string, version: string, extra = 4096): TestPkg {
  const body = Buffer.concat([Buffer.from(`mngd-test-pkg ${version}\n`), randomBytes(extra)]);
  const path = join(dir, `mngd-agent-${version}.pkg`);
  writeFileSync(path, body);
  return { path, version, sha256: createHash('sha256').update(body).digest('hex'), size: body.length };
}

export function releaseOf(pkg: Pick<TestPkg, 'version' | 'sha256' | 'size'>, rollout = 100): Release {
  return {
    version: pkg.version,
    download_url: `https://downloads.example.com/mngd-agent-${pkg.version}.pkg`,
    sha256: pkg.sha256,
    size: pkg.size,
    active: true,
    channel: 'stable',
    rollout_percent: rollout,
  };
}

let lastSequence: number | null = null;

/** A manifest signed by `keys`, as the pipeline publishes it; every call gets a higher sequence. */
export function signedManifest(releases: Release[], keys: SigningKey[], channel = 'stable', now = new Date()): string {
  const signed = buildSignedManifest({
    channel,
    releases,
    policy: { manifest: MANIFEST_DEFAULTS },
    now,
    previousSequence: lastSequence,
  });
  lastSequence = signed.sequence;
  return JSON.stringify(signEnvelope(signed, keys));
}

export interface HelperProcess {
  proc: ChildProcess;
  dir: string;
  socket: string;
  staging: string;
  versionFile: string;
  logFile: string;
  record: string;
  modeFile: string;
  pidFile: string;
  /** the machine's device id file (created by the helper at start) */
  deviceIdFile: string;
  exited: Promise<number | null>;
  stderr(): string;
  /** what the stand-in was called with, one argument list per run */
  invocations(): string[][];
  /** the stand-in's runs in the order they started and ended: `start <pid>`, `end <pid>` (<record>.spans) */
  spans(): string[];
  setMode(mode: 'succeed' | 'fail' | 'hang' | 'flood' | `fail-first ${number}`): void;
  installedVersion(): string;
  stagedFiles(): string[];
  stop(): Promise<number | null>;
}

export interface HelperOptions {
  key: SigningKey;
  installed?: string;
  installerTimeout?: number;
  idleTimeout?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** the machine's device id, written before the helper starts (default: the helper creates a random one) */
  deviceId?: string;
  /** the folder of an earlier helper (killed): this one restarts on its state, staging and version file */
  dir?: string;
}

/** A device id whose rollout bucket for `version` is below `percent` (in the cohort) or not. */
export function deviceIdFor(version: string, percent: number, inCohort = true): string {
  for (let i = 0; ; i++) {
    const id = `mac-${i}`;
    if (bucket(id, version) < percent === inCohort) return id;
  }
}

/** Starts `node dist/helper/cli.js serve` and resolves once it says it is listening. */
export async function startHelper(opts: HelperOptions): Promise<HelperProcess> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mngd-helper-'));
  const h = {
    dir,
    socket: join(dir, 'run', 'helper.sock'),
    staging: join(dir, 'state', 'staging'),
    versionFile: join(dir, 'VERSION'),
    logFile: join(dir, 'log', 'mngd.log'),
    record: join(dir, 'installer-calls.txt'),
    modeFile: join(dir, 'installer-mode'),
    pidFile: join(dir, 'installer-pids'),
    deviceIdFile: join(dir, 'device-id'),
  };
  mkdirSync(join(dir, 'run'), { recursive: true });
  if (opts.dir === undefined || opts.installed !== undefined)
    writeFileSync(h.versionFile, `${opts.installed ?? '1.0.2'}\n`);
  if (opts.dir === undefined) writeFileSync(h.modeFile, 'succeed\n');
  if (opts.deviceId !== undefined) writeFileSync(h.deviceIdFile, `${opts.deviceId}\n`);
  const args = [
    'serve',
    '--socket',
    h.socket,
    '--staging',
    h.staging,
    '--state-dir',
    join(dir, 'state'),
    '--version-file',
    h.versionFile,
    '--installer',
    STAND_IN,
    '--installer-timeout',
    String(opts.installerTimeout ?? 10),
    '--idle-timeout',
    String(opts.idleTimeout ?? 5),
    '--trusted-key',
    opts.key.public_key,
    '--log-file',
    h.logFile,
    '--device-id-file',
    h.deviceIdFile,
    ...(opts.extraArgs ?? []),
  ];
  // node dist/helper/cli.js, or the single executable (MNGD_BIN_DIR).
  const run = launchOf('mngd-helper', args, {
    ...process.env,
    STANDIN_RECORD: h.record,
    STANDIN_MODE_FILE: h.modeFile,
    STANDIN_VERSION_FILE: h.versionFile,
    STANDIN_PID_FILE: h.pidFile,
    ...opts.env,
  });
  const proc = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'pipe'], env: run.env });
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('listening on')) resolve();
    });
    void exited.then((code) => reject(new Error(`helper exited with ${code} before listening: ${stderr}`)));
  });
  return {
    ...h,
    proc,
    exited,
    stderr: () => stderr,
    invocations() {
      if (!existsSync(h.record)) return [];
      const runs: string[][] = [];
      let cur: string[] = [];
      for (const line of readFileSync(h.record, 'utf8').split('\n')) {
        if (line === '--end--') {
          runs.push(cur);
          cur = [];
        } else if (line !== '') cur.push(line);
      }
      return runs;
    },
    spans: () =>
      existsSync(`${h.record}.spans`) ? readFileSync(`${h.record}.spans`, 'utf8').split('\n').filter(Boolean) : [],
    setMode: (mode) => writeFileSync(h.modeFile, `${mode}\n`),
    installedVersion: () => readFileSync(h.versionFile, 'utf8').trim(),
    stagedFiles: () => (existsSync(h.staging) ? readdirSync(h.staging) : []),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a Node program to its end; resolves once all its output is read. */
export function runNode(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr })); // 'close', not 'exit': after all output is read
  });
}

/** Sends raw bytes on a fresh connection; resolves with everything received until the helper closes. */
export function rawExchange(
  socket: string,
  data: string | Buffer | null,
  timeoutMs = 20_000,
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ path: socket });
    let text = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no close from the helper within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
    c.on('connect', () => {
      if (data !== null) c.write(data);
    });
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('error', () => undefined); // a reset after the server's refusal is expected with big writes
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
  });
}

/** Is the process alive (a zombie counts as dead)? */
export function isAlive(pid: number): boolean {
  if (existsSync('/proc/self')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls a condition that has no event to await (a file another process writes). */
export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A client that speaks the protocol by hand, as a local user would: the plan (a JSON file) says
 * which uid to claim in a `prove` (none: an unproven request, as an older agent sends), how to try
 * to read the challenge file (`read` it, through a `symlink` or a `hardlink` made in `scratch`),
 * which proof to send when none could be read, and how many conversations to run, one after the
 * other (`times`) or at once (`parallel`). Prints one JSON result per conversation.
 */
const PEER_CLIENT = `
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const [socket, planFile] = process.argv.slice(1);
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
let n = 0;
function converse() {
  return new Promise((resolve) => {
    const c = net.createConnection({ path: socket });
    const out = { attempts: {} };
    let buf = '';
    const lines = [];
    let waiter = null;
    const wake = () => { if (waiter && (lines.length || c.destroyed)) { const w = waiter; waiter = null; w(lines.shift() ?? null); } };
    c.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) !== -1) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); } wake(); });
    c.on('close', wake);
    c.on('error', (e) => { out.error = e.code; });
    const next = () => new Promise((r) => { waiter = r; wake(); });
    const send = (o) => c.write(JSON.stringify(o) + '\\n');
    (async () => {
      const request = plan.request;
      let proof = plan.proof;
      if (plan.claim !== undefined) {
        send({ v: 1, id: request.id, type: 'prove', uid: plan.claim === 'self' ? process.getuid() : plan.claim });
        out.challenge = await next();
        for (const how of plan.steal ?? ['read']) {
          try {
            let p = out.challenge.path;
            const made = path.join(plan.scratch ?? '/nonexistent', how + '-' + process.pid + '-' + n++);
            if (how === 'symlink') { fs.symlinkSync(p, made); p = made; }
            if (how === 'hardlink') { fs.linkSync(p, made); p = made; }
            proof = fs.readFileSync(p, 'utf8').trim();
            out.attempts[how] = 'read';
          } catch (e) {
            out.attempts[how] = e.code;
          }
        }
        out.proof = proof;
      }
      if (plan.silent) {
        out.reply = await next();
      } else {
        send({ ...request, ...(proof === undefined ? {} : { proof }) });
        out.reply = await next();
      }
      c.destroy();
      resolve(out);
    })();
  });
}
(async () => {
  const outs = [];
  if (plan.parallel) outs.push(...(await Promise.all(Array.from({ length: plan.parallel }, converse))));
  for (let i = 0; i < (plan.times ?? (plan.parallel ? 0 : 1)); i++) outs.push(await converse());
  process.stdout.write(JSON.stringify(outs) + '\\n');
})();
`;

/** A plan for PEER_CLIENT (above). */
export interface PeerPlan {
  /** the request, without v and id */
  request: object;
  /** the uid claimed in `prove` ('self': its own); absent: no prove, an unproven request */
  claim?: number | 'self';
  /** how to try to read the challenge file (default: read it) */
  steal?: ('read' | 'symlink' | 'hardlink')[];
  /** the proof sent when none was read (default: none) */
  proof?: string;
  /** a folder the user may write, for the links */
  scratch?: string;
  /** prove, then send nothing and wait for the helper's answer (an idle time-out) */
  silent?: boolean;
  times?: number;
  parallel?: number;
}

/** What PEER_CLIENT saw of one conversation. */
export interface PeerResult {
  challenge?: { ok: boolean; path?: string; error?: { code: string; message: string } };
  attempts: Record<string, string>;
  proof?: string;
  reply: {
    ok: boolean;
    outcome?: string;
    installed_version?: string;
    error?: { code: string; message: string };
  } | null;
  error?: string;
}

/**
 * Runs PEER_CLIENT as `uid` (its gid `gid`, no other group) through `setpriv`: a local user, not
 * the agent. The helper's socket must be reachable by it (--socket-group, 0755 folders on the
 * way); `work` a folder it can read the plan from.
 */
export async function peerExchange(
  socket: string,
  work: string,
  who: { uid: number; gid?: number },
  plan: PeerPlan,
): Promise<PeerResult[]> {
  const file = join(work, `plan-${randomBytes(6).toString('hex')}.json`);
  const request = { v: 1, id: `uid-${who.uid}`, ...plan.request };
  writeFileSync(file, JSON.stringify({ ...plan, request }), { mode: 0o644 });
  const gid = who.gid ?? who.uid;
  const p = spawn(
    'setpriv',
    [`--reuid=${who.uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '-e', PEER_CLIENT, socket, file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  if (code !== 0) throw new Error(`the client as uid ${who.uid} failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout) as PeerResult[];
}

/** One request as `uid`, its uid proven as the agent proves it (or unproven: `proven` false); the reply. */
export async function requestAsUid(
  socket: string,
  work: string,
  uid: number,
  request: object,
  opts: { gid?: number; proven?: boolean } = {},
): Promise<NonNullable<PeerResult['reply']>> {
  const [result] = await peerExchange(
    socket,
    work,
    { uid, gid: opts.gid },
    {
      request,
      ...(opts.proven === false ? {} : { claim: 'self' as const }),
    },
  );
  if (result?.reply === null || result === undefined)
    throw new Error(`no reply to uid ${uid}: ${JSON.stringify(result)}`);
  return result.reply;
}

/**
 * Asserts that the stand-in's runs (HelperProcess.spans) never overlapped: each run ended before
 * the next started (each `start <pid>` is followed by its own `end <pid>`), and that there were `runs`.
 */
export function assertOneAtATime(spans: readonly string[], runs: number): void {
  const pairs: string[] = [];
  for (let i = 0; i < spans.length; i += 2) {
    const [start, end] = [spans[i], spans[i + 1]];
    const pid = start?.startsWith('start ') ? start.slice(6) : null;
    assert(pid !== null && end === `end ${pid}`, `two installer runs at once: ${spans.join(', ')}`);
    pairs.push(pid);
  }
  assert.equal(pairs.length, runs, `installer runs: ${spans.join(', ')}`);
}
