/**
 * The cost every Mac pays each hour (issue 21): a cold `mngd-agent check --once` against an
 * unchanged manifest (up to date: nothing to download), in CPU seconds (user + system) and peak
 * RSS, beside `node -e 0` and the least any check can do, `curl` of the same manifest plus
 * `openssl pkeyutl -verify` of its signature, all in the same run; then the resident loop
 * (`mngd-agent run`) between checks. The agent runs as the dist/ bin (node and its shebang
 * flags) and, when `npm run package` made them, as the single executable.
 *
 *   npm run bench -- agent-check        MNGD_BENCH_CHECKS=10 runs of each (the median is shown)
 *
 * Linux only: GNU time (/usr/bin/time -f) measures each child.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { envCount, machine, type Bench, type BenchContext } from './bench.js';
import { canonicalBytes } from '../schema/canonical.js';
import { makePkg, newKey, releaseOf, signedManifest } from '../test/helper/harness.js';
import { routes, servePackage, startHttpsServer, type TestServer } from '../test/support/https-server.js';
import { testTls } from '../test/support/tls.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = join(ROOT, 'dist/agent/cli.js');
const SEA = join(ROOT, `dist/package/${process.platform}-${process.arch}/mngd-agent`);
const run = promisify(execFile);

interface Cost {
  cpu: number;
  rssMiB: number;
}

/** CPU seconds and peak RSS of one run of `cmd` (GNU time), failing on a non-zero exit. */
async function measure(cmd: string[], env: NodeJS.ProcessEnv = process.env): Promise<Cost> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'MNGD-TIME %U %S %M', ...cmd], { env });
  const m = /MNGD-TIME ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
  if (m === null) throw new Error(`${cmd.join(' ')}: no GNU time line in ${stderr}`);
  return { cpu: Number(m[1]) + Number(m[2]), rssMiB: Number(m[3]) / 1024 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function medianCost(n: number, cmd: string[], env?: NodeJS.ProcessEnv): Promise<Cost> {
  const costs: Cost[] = [];
  for (let i = 0; i < n; i++) costs.push(await measure(cmd, env));
  return { cpu: median(costs.map((c) => c.cpu)), rssMiB: median(costs.map((c) => c.rssMiB)) };
}

/** RSS of `pid` now, in MiB: all of it (VmRSS), and its own memory (RssAnon: not the executable's shared file pages). */
function rssOf(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

/** `run` with a short interval: its RSS after each of `checks` checks (read right after the log says it checked). */
async function residentLoop(cmd: string[], checks: number, log: string): Promise<{ rss: number; anon: number }[]> {
  const child = spawn(cmd[0]!, [...cmd.slice(1), '--first-delay', '0', '--interval', '1'], { stdio: 'ignore' });
  const samples: { rss: number; anon: number }[] = [];
  try {
    let seen = 0;
    while (samples.length < checks) {
      await new Promise((r) => setTimeout(r, 100));
      const n = existsSync(log) ? (readFileSync(log, 'utf8').match(/SelfUpdate: check:/g) ?? []).length : 0;
      if (n > seen) {
        seen = n;
        // Between checks: the next one is ~1 s away.
        await new Promise((r) => setTimeout(r, 300));
        samples.push(rssOf(child.pid!));
      }
      if (child.exitCode !== null) throw new Error(`${cmd[0]} run exited ${child.exitCode}`);
    }
  } finally {
    child.kill('SIGTERM');
  }
  return samples;
}

export const bench: Bench = {
  name: 'agent-check',
  async run({ log }: BenchContext) {
    const n = envCount('MNGD_BENCH_CHECKS', 10);
    const work = await mkdtemp(join(tmpdir(), 'mngd-bench-check-'));
    let srv: TestServer | null = null;
    try {
      const key = newKey();
      const manifest = Buffer.from(signedManifest([releaseOf(makePkg(work, '1.0.2'))], [key]));
      srv = await startHttpsServer(routes({ '/latest.json': servePackage(manifest, { etag: '"m1"' }) }));
      const url = srv.url('/latest.json');
      const ca = testTls().caFile;
      // What openssl verifies: the canonical bytes of "signed", the signature, the public key.
      const envelope = JSON.parse(manifest.toString()) as { signed: unknown; signatures: { sig: string }[] };
      writeFileSync(join(work, 'signed.bin'), canonicalBytes(envelope.signed));
      writeFileSync(join(work, 'sig.bin'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
      const pem = createPublicKey({
        key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(key.public_key, 'base64')]),
        format: 'der',
        type: 'spki',
      }).export({ type: 'spki', format: 'pem' });
      writeFileSync(join(work, 'pub.pem'), pem);
      const flags = (state: string) => [
        'check',
        '--once',
        '--manifest-url',
        url,
        '--trusted-key',
        key.public_key,
        '--current-version',
        '1.0.2',
        '--ca-file',
        ca,
        '--state-dir',
        join(work, state),
        '--log-file',
        join(work, `${state}.log`),
        '--device-id',
        'bench-device',
      ];
      log(`${machine()}; ${n} runs each, median; the manifest is ${manifest.length} bytes, unchanged (up to date)`);

      const nodeE0 = await medianCost(n, [process.execPath, '-e', '0']);
      const curlCmd = ['curl', '-sf', '--cacert', ca, '-o', join(work, 'm.json'), url];
      const verifyCmd = ['openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', join(work, 'pub.pem'), '-rawin'];
      verifyCmd.push('-in', join(work, 'signed.bin'), '-sigfile', join(work, 'sig.bin'));
      // Each is below GNU time's 10 ms resolution: the CPU of n rounds in one shell, divided by n.
      const rounds = await measure([
        'sh',
        '-c',
        `i=0; while [ $i -lt ${n} ]; do "$@" > /dev/null || exit 1; i=$((i+1)); done`,
        'sh',
        ...curlCmd,
      ]);
      const verifyRounds = await measure([
        'sh',
        '-c',
        `i=0; while [ $i -lt ${n} ]; do "$@" > /dev/null || exit 1; i=$((i+1)); done`,
        'sh',
        ...verifyCmd,
      ]);
      const curl = await medianCost(n, curlCmd);
      const verify = await medianCost(n, verifyCmd);
      const floor = {
        cpu: (rounds.cpu + verifyRounds.cpu) / n,
        rssMiB: Math.max(curl.rssMiB, verify.rssMiB),
      };
      const row = (name: string, c: Cost) =>
        log(
          `${name.padEnd(34)} ${c.cpu.toFixed(3)} s CPU (${(c.cpu / nodeE0.cpu).toFixed(1)}× node -e 0, ${(c.cpu / floor.cpu).toFixed(1)}× curl+openssl)  ${c.rssMiB.toFixed(1)} MiB peak RSS (${(c.rssMiB / nodeE0.rssMiB).toFixed(2)}× node -e 0)`,
        );
      row('node -e 0', nodeE0);
      row('curl + openssl pkeyutl -verify', floor);
      // The first check of a state folder is the cold one each hour: a fresh folder per run.
      let i = 0;
      row('mngd-agent check --once (dist/)', await medianCost(n, [AGENT, ...flags(`dist-${i++}`)]));
      if (existsSync(SEA)) {
        row('mngd-agent check --once (single exe)', await medianCost(n, [SEA, ...flags(`sea-${i++}`)]));
      } else log('(no single executable: npm run package builds it)');

      // node itself at rest, for the resident figures.
      const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      const idleRss = rssOf(idle.pid!);
      idle.kill('SIGTERM');
      log(`node at rest: RSS ${idleRss.rss.toFixed(1)} MiB, of which its own (RssAnon) ${idleRss.anon.toFixed(1)} MiB`);
      const loopFlags = flags('loop').filter((f) => f !== 'check' && f !== '--once');
      for (const [name, bin] of [
        ['dist/', AGENT],
        ['single exe', SEA],
      ] as const) {
        if (!existsSync(bin)) continue;
        const state = `loop-${name === 'dist/' ? 'dist' : 'sea'}`;
        const f = loopFlags.map((x) => (x.startsWith(join(work, 'loop')) ? x.replace('loop', state) : x));
        const samples = await residentLoop([bin, 'run', ...f], 5, join(work, `${state}.log`));
        const rss = samples.map((x) => x.rss);
        log(
          `mngd-agent run (${name}) between checks: RSS ${rss.map((x) => x.toFixed(1)).join(', ')} MiB (${(median(rss) / nodeE0.rssMiB).toFixed(2)}× node -e 0), of which its own (RssAnon) ${median(samples.map((x) => x.anon)).toFixed(1)} MiB`,
        );
      }
    } finally {
      await srv?.close();
      await rm(work, { recursive: true, force: true });
    }
  },
};
