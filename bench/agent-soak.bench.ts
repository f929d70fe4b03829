/**
 * The soak: the real `mngd-agent run` (its bin, its shebang's node flags) with a short interval
 * against a flapping loopback CDN, for MNGD_BENCH_SOAK_SECONDS (default 1200: at this pace, ~30
 * checks and two new releases a minute, RSS settles over the first ~10 minutes: V8's pages, glibc's
 * heap and node's code pages in use grow, then level; the second half of a 10-minute run is
 * still warm-up, docs/agent.md Soak). The CDN answers in
 * turn: the manifest whole, 304, 503, a reset connection; the package whole, cut short, 503; and
 * every 30 s it publishes a new release with a new package (MNGD_BENCH_SOAK_PKG_BYTES, default
 * 16 MiB: past the worker-thread size). No helper listens: each verified package ends in
 * HELPER_UNREACHABLE and is re-hashed at the next check. The agent's RSS and open file
 * descriptors are sampled every 10 s; the plateau is the highest after a one-minute warm-up, and
 * growth is the slope of RSS after warm-up (and over the second half, which is what "no growth"
 * is judged on), besides the last minute against the first. Target: RSS <= 100 MB, no growth
 * after warm-up.
 */
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envCount, machine, type Bench } from './bench.js';
import { generateSigningKey, signingKeyFromText } from '../schema/keys.js';
import { signEnvelope } from '../schema/signing.js';
import { MANIFEST_DEFAULTS } from '../schema/types.js';
import { buildSignedManifest } from '../pipeline/manifests/build.js';
import { routes, servePackage, startHttpsServer, type Handler } from '../test/support/https-server.js';
import { testTls } from '../test/support/tls.js';

const AGENT_BIN = fileURLToPath(new URL('../agent/cli.js', import.meta.url));
const MIB = 1024 * 1024;
/** "No growth after warm-up": RSS rising by at most 1 MiB in 10 minutes over the second half of the run. */
const GROWTH_LIMIT_MIB_PER_MIN = 0.1;

/**
 * RSS (MiB), its anonymous part (the process's own memory; the rest is mostly node's executable
 * pages, clean and shared) and open descriptors of a process, from /proc.
 */
function sample(pid: number): { rssMiB: number; anonMiB: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
    return { rssMiB: kib('VmRSS'), anonMiB: kib('RssAnon'), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

export const bench: Bench = {
  name: 'agent-soak',
  async run({ log }) {
    const seconds = envCount('MNGD_BENCH_SOAK_SECONDS', 1200);
    const size = envCount('MNGD_BENCH_SOAK_PKG_BYTES', 16 * MIB);
    const dir = await mkdtemp(join(tmpdir(), 'mngd-soak-'));
    const g = generateSigningKey();
    const key = signingKeyFromText(g.privateKeyText);
    const table: Record<string, Handler> = {};
    const srv = await startHttpsServer(routes(table));
    let n = 0;
    let manifest = Buffer.alloc(0);
    let etag = '';
    const publish = (): void => {
      n++;
      const bytes = randomBytes(size);
      const path = `/pkgs/mngd-agent-1.0.${n + 2}.pkg`;
      const whole = servePackage(bytes);
      let turn = 0;
      table[path] = (req, res, s) => {
        const t = turn++ % 3;
        if (t === 0) return void (res.writeHead(503), res.end());
        if (t === 1) {
          res.writeHead(200, { 'content-length': String(bytes.length) });
          res.write(bytes.subarray(0, Math.floor(bytes.length / 3)));
          return void setImmediate(() => res.destroy());
        }
        whole(req, res, s);
      };
      const signed = buildSignedManifest({
        channel: 'stable',
        releases: [
          {
            version: `1.0.${n + 2}`,
            download_url: srv.url(path),
            sha256: createHash('sha256').update(bytes).digest('hex'),
            size: bytes.length,
            active: true,
            channel: 'stable',
            rollout_percent: 100,
          },
        ],
        policy: { manifest: MANIFEST_DEFAULTS },
        now: new Date(),
        previousSequence: null,
      });
      signed.sequence += n;
      manifest = Buffer.from(JSON.stringify(signEnvelope(signed, [key])));
      etag = `"m${n}"`;
    };
    publish();
    let mturn = 0;
    table['/latest.json'] = (req, res, s) => {
      const t = mturn++ % 4;
      if (t === 2) return void (res.writeHead(503), res.end());
      if (t === 3) return void req.socket.destroy();
      servePackage(manifest, { etag, lastModified: null })(req, res, s);
    };
    const config = join(dir, 'agent.json');
    await writeFile(
      config,
      JSON.stringify({
        manifest_url: srv.url('/latest.json'),
        trusted_keys: [g.public_key],
        state_dir: join(dir, 'state'),
        log_file: join(dir, 'agent.log'),
        helper_socket: join(dir, 'no-helper.sock'),
        ca_file: testTls().caFile,
        current_version: '1.0.2',
        device_id: 'soak-device',
      }),
    );
    const agent = spawn(AGENT_BIN, ['run', '--config', config, '--first-delay', '0', '--interval', '2'], {
      stdio: 'ignore',
    });
    const samples: { t: number; rssMiB: number; anonMiB: number; fds: number }[] = [];
    const started = Date.now();
    const republish = setInterval(publish, 30_000);
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const s = sample(agent.pid!);
        const t = Math.round((Date.now() - started) / 1000);
        if (s !== null) samples.push({ t, ...s });
        if (s !== null) log(`t=${t}s rss ${s.rssMiB.toFixed(1)} MiB (anon ${s.anonMiB.toFixed(1)}), fds ${s.fds}`);
        if (Date.now() - started >= seconds * 1000 || s === null) {
          clearInterval(tick);
          resolve();
        }
      }, 10_000);
    });
    clearInterval(republish);
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
    await srv.close();
    const lines = readFileSync(join(dir, 'agent.log'), 'utf8').split('\n');
    await rm(dir, { recursive: true, force: true });
    const after = samples.filter((s) => s.t > 60);
    const first = after.slice(0, 6);
    const last = after.slice(-6);
    const avg = (xs: typeof samples, k: 'rssMiB' | 'anonMiB' | 'fds') =>
      xs.reduce((a, s) => a + s[k], 0) / Math.max(1, xs.length);
    const peak = Math.max(...after.map((s) => s.rssMiB), 0);
    // Growth: the least-squares slope of RSS over the samples after warm-up, whole and second half
    // (a leak shows as a steady slope; GC and a new release's download as noise around a level).
    const slope = (xs: typeof samples): number => {
      if (xs.length < 3) return 0;
      const mt = xs.reduce((a, s) => a + s.t, 0) / xs.length;
      const mr = xs.reduce((a, s) => a + s.rssMiB, 0) / xs.length;
      const num = xs.reduce((a, s) => a + (s.t - mt) * (s.rssMiB - mr), 0);
      const den = xs.reduce((a, s) => a + (s.t - mt) ** 2, 0);
      return den === 0 ? 0 : (num / den) * 60;
    };
    const growth = slope(after);
    const lateGrowth = slope(after.slice(Math.floor(after.length / 2)));
    const peakAnon = Math.max(...after.map((s) => s.anonMiB), 0);
    log(
      `${machine()}; ${seconds} s, package ${size / MIB} MiB, ${n} releases published, ${lines.filter((l) => l.includes('SelfUpdate: check:')).length} checks`,
    );
    log(
      `RSS plateau (after 60 s warm-up) ${peak.toFixed(1)} MiB = ${((peak * MIB) / 1e6).toFixed(1)} MB (target <= 100 MB: ${(peak * MIB) / 1e6 <= 100 ? 'met' : 'NOT met'}); ` +
        `first minute ${avg(first, 'rssMiB').toFixed(1)} MiB, last minute ${avg(last, 'rssMiB').toFixed(1)} MiB; ` +
        `anonymous ${avg(first, 'anonMiB').toFixed(1)} -> ${avg(last, 'anonMiB').toFixed(1)} MiB (peak ${peakAnon.toFixed(1)}); ` +
        `growth after warm-up ${growth.toFixed(2)} MiB/min, in the second half ${lateGrowth.toFixed(2)} MiB/min (no growth: ${lateGrowth <= GROWTH_LIMIT_MIB_PER_MIN ? 'met' : 'NOT met'}, at most ${GROWTH_LIMIT_MIB_PER_MIN}); ` +
        `fds ${avg(first, 'fds').toFixed(1)} -> ${avg(last, 'fds').toFixed(1)}; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
  },
};
