/**
 * choose v2 over a simulated fleet (default 100,000 devices: MNGD_BENCH_DEVICES), against spec 1's
 * `choose` over the same releases in the same run (the baseline). The manifest is the worst a
 * fleet sees: 20 releases × 3 artifacts, macOS requirements, a 4-step schedule on the newest, a
 * canary ring of 1,000 hashed ids, two versions to rescue, and a floor that
 * only macOS 13 and later can reach. Devices: macOS 12-26,
 * Intel / Apple silicon / Rosetta, on one of the listed versions. Alternating rounds, median of 5.
 */
import { choose } from '../schema/choose.js';
import { choose2, ringHash, type DeviceFacts, type ManifestLike, type ReleaseLike } from '../schema/choose2.js';
import { shareAt } from '../schema/rollout.js';
import { envCount, type Bench } from './bench.js';

const N = envCount('MNGD_BENCH_DEVICES', 100_000);
const ROUNDS = envCount('MNGD_BENCH_ROUNDS', 5);
const NOW = Date.parse('2026-12-04T12:00:00Z');
const SALT = '5a17'.repeat(8);
type Arch = 'universal' | 'arm64' | 'x86_64';
type R = ReleaseLike<{ arch: Arch; download_url: string; sha256: string; size: number }>;

function releases(): R[] {
  return Array.from({ length: 20 }, (_, i) => {
    const version = `1.${Math.floor((19 - i) / 10)}.${(19 - i) % 10}`;
    const art = (arch: Arch) => ({
      arch,
      download_url: `https://cdn/${version}-${arch}.pkg`,
      sha256: 'ab'.repeat(32),
      size: 1,
    });
    return {
      version,
      artifacts: [art('universal'), art('arm64'), art('x86_64')],
      requires: { macos_min: i < 5 ? '13.0' : null, macos_max: null },
      rollout:
        i === 0
          ? [
              { at: null, percent: 0 },
              { at: '2026-12-01T09:00:00Z', percent: 1 },
              { at: '2026-12-03T09:00:00Z', percent: 10 },
              { at: '2026-12-05T09:00:00Z', percent: 50 },
              { at: '2026-12-07T09:00:00Z', percent: 100 },
            ]
          : [{ at: null, percent: i === 1 ? 25 : 100 }],
      rings: i === 0 ? ['canary'] : [],
    };
  });
}

function fleet(rs: R[]): DeviceFacts[] {
  const macos = ['12.7.6', '13.6.1', '14.6', '15.1', '26.1'];
  const hw = ['x86_64', 'arm64', 'arm64'] as const;
  return Array.from({ length: N }, (_, i) => ({
    deviceId: `C02${i.toString(36).toUpperCase().padStart(8, '0')}`,
    current: rs[3 + (i % 17)]!.version,
    macos: macos[i % macos.length]!,
    hwArch: hw[i % hw.length]!,
    clock: NOW + (i % 3600) * 1000,
  }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const bench: Bench = {
  name: 'choose2',
  async run(ctx) {
    const rs = releases();
    const m: ManifestLike<R> = {
      published_at: '2026-12-04T10:00:00Z',
      expires_at: '2026-12-18T10:00:00Z',
      min_required_version: rs[4]!.version, // needs macOS 13: Macs on 12 are unsupported
      releases: rs,
      rings: { canary: Array.from({ length: 1000 }, (_, i) => ringHash(SALT, `canary-${i}`)) },
      ring_salt: SALT,
      rescue_from: [rs[2]!.version, rs[4]!.version],
    };
    // Spec 1 over the same releases: one package each, the share in force now as rollout_percent.
    const spec1 = rs.map((r) => ({ version: r.version, rollout_percent: shareAt(r.rollout, NOW) }));
    const devices = fleet(rs);
    const v1: number[] = [];
    const v2: number[] = [];
    let taken = 0;
    let blocked = 0;
    let unsupported = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = process.hrtime.bigint();
      for (const d of devices)
        choose({ releases: spec1, current: d.current, floor: m.min_required_version, deviceId: d.deviceId });
      v1.push(Number(process.hrtime.bigint() - t0) / N);
      t0 = process.hrtime.bigint();
      taken = blocked = unsupported = 0;
      for (const d of devices) {
        const c = choose2(m, d);
        if (c.target !== null) taken++;
        if (c.blocked) blocked++;
        if (c.unsupported !== null) unsupported++;
      }
      v2.push(Number(process.hrtime.bigint() - t0) / N);
    }
    const [a, b] = [median(v1), median(v2)];
    ctx.log(`${N.toLocaleString('en')} devices × 20 releases (3 artifacts each), ${ROUNDS} rounds, median`);
    ctx.log(`spec-1 choose (baseline): ${(a / 1000).toFixed(2)} µs per device`);
    ctx.log(`choose v2:                ${(b / 1000).toFixed(2)} µs per device (${(b / a).toFixed(2)}× spec 1)`);
    ctx.log(
      `outcomes: ${((taken / N) * 100).toFixed(1)} % offered a target, ${((blocked / N) * 100).toFixed(1)} % blocked below the floor, ${((unsupported / N) * 100).toFixed(1)} % unsupported`,
    );
  },
};
