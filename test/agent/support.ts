/**
 * What the agent tests share: a signing key and signed manifests, a loopback HTTPS "CDN" that
 * serves the manifest and the packages, a stand-in helper on a real Unix socket speaking
 * protocol v1, and a fixture that wires a real check (state folder, HTTP client, helper client).
 */
import { createHash, randomBytes } from 'node:crypto';
import { before, after, beforeEach } from 'node:test';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateSigningKey,
  publicKeyFromBase64,
  signingKeyFromText,
  type PublicKeyInfo,
  type SigningKey,
} from '../../schema/keys.js';
import { signEnvelope } from '../../schema/signing.js';
import type { Release, SignedManifest } from '../../schema/types.js';
import { MANIFEST_DEFAULTS } from '../../schema/types.js';
import { buildSignedManifest } from '../../pipeline/manifests/build.js';
import { errorReply, type InstallRequest } from '../../helper/protocol.js';
import { parseRequest } from '../../helper/wire.js';
import { requestInstall, sendManifest } from '../../helper/client.js';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../agent/http/index.js';
import { runCheck, type CheckDeps, type CheckResult, type HelperClient } from '../../agent/check.js';
import { checkinCall } from '../../agent/main.js';
import { runLoop, type LoopTiming } from '../../agent/run-loop.js';
import { MemoryLogger } from '../../agent/log.js';
import { StateStore } from '../../agent/state.js';
import { routes, servePackage, startHttpsServer, type Handler, type TestServer } from '../support/https-server.js';
import { testTls } from '../support/tls.js';
import { bucket } from '../../schema/choose.js';

export const T0 = new Date('2026-11-27T02:00:00Z');
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface Signer {
  key: SigningKey;
  trusted: PublicKeyInfo[];
  publicKey: string;
}

export function newSigner(): Signer {
  const g = generateSigningKey();
  return {
    key: signingKeyFromText(g.privateKeyText),
    trusted: [publicKeyFromBase64(g.public_key)],
    publicKey: g.public_key,
  };
}

export interface Pkg {
  version: string;
  bytes: Buffer;
  path: string;
}

export function pkg(version: string, size = 64 * 1024): Pkg {
  return { version, bytes: randomBytes(size), path: `/pkgs/mngd-agent-${version}.pkg` };
}

export function release(p: Pkg, origin: string, extra: Partial<Release> = {}): Release {
  return {
    version: p.version,
    download_url: `${origin}${p.path}`,
    sha256: sha256(p.bytes),
    size: p.bytes.length,
    active: true,
    channel: 'stable',
    rollout_percent: 100,
    ...extra,
  };
}

export interface ManifestInput {
  releases: Release[];
  channel?: string;
  now?: Date;
  previousSequence?: number | null;
  /** edits the signed part before signing (tests of bad manifests) */
  edit?: (s: SignedManifest) => void;
  keys?: SigningKey[];
}

export function manifestBytes(signer: Signer, m: ManifestInput): Buffer {
  const signed = buildSignedManifest({
    channel: m.channel ?? 'stable',
    releases: m.releases,
    policy: { manifest: MANIFEST_DEFAULTS },
    now: m.now ?? T0,
    previousSequence: m.previousSequence ?? null,
  });
  m.edit?.(signed);
  return Buffer.from(JSON.stringify(signEnvelope(signed, m.keys ?? [signer.key])));
}

/** The loopback CDN: `table` may be changed between checks (routes reads it per request). */
export interface Cdn {
  srv: TestServer;
  table: Record<string, Handler>;
  manifestUrl: string;
  setManifest(bytes: Buffer): void;
  addPkg(p: Pkg, handler?: Handler): void;
  close(): Promise<void>;
}

export async function startCdn(): Promise<Cdn> {
  const table: Record<string, Handler> = {};
  const srv = await startHttpsServer(routes(table));
  let n = 0;
  return {
    srv,
    table,
    manifestUrl: srv.url('/latest.json'),
    setManifest(bytes) {
      table['/latest.json'] = servePackage(bytes, {
        etag: `"m${++n}-${sha256(bytes).slice(0, 8)}"`,
        lastModified: null,
      });
    },
    addPkg(p, handler) {
      table[p.path] = handler ?? servePackage(p.bytes);
    },
    close: () => srv.close(),
  };
}

/** The body bytes served for one path (manifest or package) so far. */
export function requestsTo(cdn: Cdn, path: string): TestServer['requests'] {
  return cdn.srv.requests.filter((r) => r.path.split('?')[0] === path);
}

export interface HandedOver {
  request: InstallRequest;
  /** SHA-256 of the file at pkg_path when the helper received the request (null: missing) */
  sha256: string | null;
}

export type StandInReply = (req: InstallRequest) => object;

/**
 * A small stand-in for mngd-helper on a real Unix socket: reads one request line, records it
 * with the hash of the file it points at, and answers with `reply` (default: installed). It is a
 * helper from before the uid proof: `prove` is BAD_REQUEST, and the client asks again without it
 * (the real helper's proof is tested with the real bins in test/helper/).
 */
export interface StandInHelper {
  socketPath: string;
  received: HandedOver[];
  /** the manifests the agent handed over (`manifest` requests), raw */
  manifests: string[];
  reply: StandInReply;
  close(): Promise<void>;
}

export const installed: StandInReply = (req) => ({
  v: 1,
  id: req.id,
  ok: true,
  outcome: 'installed',
  version: req.version,
  exit_code: 0,
  output_tail: 'installer: The upgrade was successful.\n',
});
export const installerFails: StandInReply = (req) =>
  errorReply(req.id, 'INSTALLER_FAILED', 'installer exited with status 1', {
    exit_code: 1,
    output_tail: 'installer: Error - the package is damaged\n',
  });

export async function startStandInHelper(dir: string): Promise<StandInHelper> {
  const socketPath = join(dir, 'helper.sock');
  const received: HandedOver[] = [];
  const sockets = new Set<Socket>();
  const helper: StandInHelper = {
    socketPath,
    received,
    manifests: [],
    reply: installed,
    close: async () => undefined,
  };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = '';
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      const req = parseRequest(buf.slice(0, nl));
      if (req.type === 'prove')
        return void sock.end(`${JSON.stringify(errorReply(req.id, 'BAD_REQUEST', '"type" must be "ping" or …'))}\n`);
      if (req.type === 'manifest') {
        helper.manifests.push(req.manifest);
        const reply = { v: 1, id: req.id, ok: true, outcome: 'accepted', channel: 'stable', sequence: 1 };
        return void sock.end(`${JSON.stringify(reply)}\n`);
      }
      if (req.type !== 'install')
        return void sock.end(`${JSON.stringify({ v: 1, id: req.id, ok: true, installed_version: null })}\n`);
      void readFile(req.pkg_path)
        .then(
          (b) => sha256(b),
          () => null,
        )
        .then((hash) => {
          received.push({ request: req, sha256: hash });
          sock.end(`${JSON.stringify(helper.reply(req))}\n`);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  helper.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return helper;
}

export function testHttp(extra: Partial<HttpClientOptions> = {}): HttpClient {
  return createHttpClient({
    bin: 'mngd-agent',
    ca: testTls().ca,
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
    retries: { limit: 1, baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

export function helperClient(socketPath: string): HelperClient {
  return {
    install: (req) => requestInstall(socketPath, req, { timeoutMs: 5000 }),
    manifest: (raw) => sendManifest(socketPath, raw, { timeoutMs: 5000 }),
  };
}

/** A check wired to real parts: its own state folder, the CDN, the stand-in helper, a movable clock. */
export interface Fixture {
  dir: string;
  state: StateStore;
  log: MemoryLogger;
  clock: { now: Date };
  deps: CheckDeps;
  check(over?: Partial<CheckDeps>): Promise<CheckResult>;
  cleanup(): Promise<void>;
}

export async function fixture(opts: {
  cdn: Cdn;
  signer: Signer;
  helperSocket: string;
  current: string;
  deviceId?: string;
  channel?: string;
  http?: HttpClient;
}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mngd-agent-'));
  const state = new StateStore(join(dir, 'state'));
  await state.init();
  const log = new MemoryLogger();
  const clock = { now: new Date(T0.getTime() + 60_000) };
  const deps: CheckDeps = {
    manifestUrl: opts.cdn.manifestUrl,
    channel: opts.channel ?? 'stable',
    trustedKeys: opts.signer.trusted,
    deviceId: opts.deviceId ?? 'device-1',
    currentVersion: opts.current,
    http: opts.http ?? testHttp(),
    helper: helperClient(opts.helperSocket),
    state,
    log,
    now: () => clock.now,
  };
  return {
    dir,
    state,
    log,
    clock,
    deps,
    check: (over = {}) => runCheck({ ...deps, ...over }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The SelfUpdate warnings logged. */
export function warnings(log: MemoryLogger): string[] {
  return log.of('WARN').filter((m) => m.startsWith('SelfUpdate:'));
}

/** A device id whose bucket for `version` is below `percent` (inCohort) or at/above it. */
export function deviceFor(version: string, percent: number, inCohort: boolean): string {
  for (let i = 0; ; i++) {
    const id = `device-${i}`;
    if (bucket(id, version) < percent === inCohort) return id;
  }
}

/** What most agent test files share: a signer, the loopback CDN, the stand-in helper, fixtures. */
export interface World {
  signer: Signer;
  cdn: Cdn;
  helper: StandInHelper;
  /** a temporary folder for this test file */
  dir: string;
  /** a fresh agent (own state folder) running `current` (default 1.0.2) */
  make(extra?: Partial<Parameters<typeof fixture>[0]>): Promise<Fixture>;
}

/**
 * Registers the hooks of the enclosing describe: start the CDN (serving `pkgs`) and the helper
 * before, reset what they recorded before each test, and tear everything down after.
 */
export function agentWorld(pkgs: Pkg[]): World {
  const fixtures: Fixture[] = [];
  const w = { signer: newSigner() } as World;
  w.make = async (extra = {}) => {
    const f = await fixture({
      cdn: w.cdn,
      signer: w.signer,
      helperSocket: w.helper.socketPath,
      current: '1.0.2',
      ...extra,
    });
    fixtures.push(f);
    return f;
  };
  before(async () => {
    w.dir = await mkdtemp(join(tmpdir(), 'mngd-agent-test-'));
    w.cdn = await startCdn();
    for (const p of pkgs) w.cdn.addPkg(p);
    w.helper = await startStandInHelper(w.dir);
  });
  beforeEach(() => {
    w.helper.received.length = 0;
    w.helper.manifests.length = 0;
    w.helper.reply = installed;
    w.cdn.srv.requests.length = 0;
  });
  after(async () => {
    await w.helper.close();
    await w.cdn.close();
    await Promise.all(fixtures.map((f) => f.cleanup()));
    await rm(w.dir, { recursive: true, force: true });
  });
  return w;
}

/** The run loop's production timing: hourly, a first delay of up to 10 min, floor retries every 5 min. */
export const LOOP_TIMING: LoopTiming = { intervalMs: 3_600_000, firstDelayMaxMs: 600_000, floorRetryMs: 300_000 };

/**
 * The real run loop for fixture `f` against the world's CDN (checkin at /api/v1/checkin), with a
 * recording sleep that stops it after `maxSleeps` sleeps; with `moveClock`, each sleep also moves
 * the fixture's clock (what a cool-down or a schedule reads).
 */
export async function loopOf(w: World, f: Fixture, maxSleeps: number, opts: { moveClock?: boolean } = {}) {
  const sleeps: number[] = [];
  const stop = new AbortController();
  const end = await runLoop({
    check: () => f.check(),
    checkin: checkinCall(w.cdn.srv.url('/api/v1/checkin'), testHttp(), 'device-1', '1.0.2'),
    timing: LOOP_TIMING,
    log: f.log,
    random: () => 0.5,
    signal: stop.signal,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (opts.moveClock === true) f.clock.now = new Date(f.clock.now.getTime() + ms);
      if (sleeps.length >= maxSleeps) stop.abort();
    },
  });
  return { end, sleeps, checkins: requestsTo(w.cdn, '/api/v1/checkin') };
}
