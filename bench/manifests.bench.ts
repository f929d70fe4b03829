/**
 * Building and signing the manifests of 4 channels from 20 releases with 3 artifacts each: spec 1
 * alone (the baseline: what publish did before spec 2) against spec 2 and spec 1 together (what
 * publish does now), alternating in one process, median of MNGD_BENCH_ROUNDS (default 5) rounds
 * of 200 publishes each. Pure work only: build, canonical JSON, Ed25519, serialise; no store.
 */
import { buildSignedManifest } from '../pipeline/manifests/build.js';
import { buildSignedManifest2 } from '../pipeline/manifests/build2.js';
import { serializeManifest } from '../pipeline/manifests/publish.js';
import { generateSigningKey, signingKeyFromText } from '../schema/keys.js';
import { signEnvelope } from '../schema/signing.js';
import { MANIFEST_DEFAULTS, withReleaseDefaults, type Release } from '../schema/types.js';
import { envCount, machine, type Bench } from './bench.js';

const RELEASES = 20;
const CHANNELS = ['stable', 'beta', 'alpha', 'canary'];
const PUBLISHES = 200;
const U = 'https://cdn.mngd.app/agent/';

function releases(): Release[] {
  return Array.from({ length: RELEASES }, (_, i) => {
    const version = `1.${i}.0`;
    const sha = (arch: number) => (i * 4 + arch).toString(16).padStart(64, '0');
    return withReleaseDefaults(
      {
        version,
        artifacts: [
          { arch: 'universal', download_url: `${U}u-${version}.pkg`, sha256: sha(0), size: 30_000_000 + i },
          { arch: 'arm64', download_url: `${U}a-${version}.pkg`, sha256: sha(1), size: 15_000_000 + i },
          { arch: 'x86_64', download_url: `${U}x-${version}.pkg`, sha256: sha(2), size: 16_000_000 + i },
        ],
        channel: CHANNELS[i % CHANNELS.length]!,
        // the newest few staged, so every list is long; every 5th needs macOS 13
        rollout_percent: i >= RELEASES - 4 ? 25 : 100,
        ...(i % 5 === 0 ? { requires: { macos_min: '13.0' } } : {}),
        release_notes: `Release ${version}: fixes and improvements to inventory, checkin and the menubar.`,
      },
      1_800_000_000_000,
    );
  });
}

export const bench: Bench = {
  name: 'manifests',
  async run(ctx) {
    const rounds = envCount('MNGD_BENCH_ROUNDS', 5);
    const key = signingKeyFromText(generateSigningKey().privateKeyText);
    const rs = releases();
    const policy = { manifest: MANIFEST_DEFAULTS, supported_macos: { oldest: '12.0', newest: '26.1' } };
    const provenance = { commit: 'abcdef0', workflow_run: null, actor: null };
    let bytes1 = 0;
    let bytes2 = 0;
    const spec1 = (now: Date) => {
      for (const channel of CHANNELS) {
        const s = buildSignedManifest({ channel, releases: rs, policy, now, previousSequence: null });
        bytes1 = serializeManifest(signEnvelope(s, [key])).length;
      }
    };
    const both = (now: Date) => {
      spec1(now);
      for (const channel of CHANNELS) {
        const s = buildSignedManifest2({ channel, releases: rs, policy, now, previousSequence: null, provenance });
        bytes2 = serializeManifest(signEnvelope(s, [key])).length;
      }
    };
    const time = (f: (now: Date) => void) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PUBLISHES; i++) f(new Date(1_800_000_000_000 + i * 1000));
      return Number(process.hrtime.bigint() - t0) / 1e6 / PUBLISHES;
    };
    time(both); // warm-up
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(time(spec1));
      b.push(time(both));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const [m1, m2] = [median(a), median(b)];
    ctx.log(
      `${machine()}; ${RELEASES} releases × 3 artifacts × ${CHANNELS.length} channels, median of ${rounds} rounds`,
    );
    ctx.log(
      `spec 1 alone:        ${m1.toFixed(2)} ms per publish of ${CHANNELS.length} channels (${bytes1} bytes, last channel)`,
    );
    ctx.log(`spec 2 + spec 1:     ${m2.toFixed(2)} ms per publish (spec-2 manifest ${bytes2} bytes, last channel)`);
    ctx.log(`ratio (both / spec 1 alone): ${(m2 / m1).toFixed(2)}×`);
  },
};
