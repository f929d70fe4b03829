/**
 * A fleet against the loopback CDN: 10,000 agent checks (the agent's real runCheck: conditional
 * GET, verify, choose, download, hand-off to a stand-in helper) with a 10 % rollout, then 10,000
 * checks of the unchanged manifest. Reports requests, bytes, time and the measured rollout share.
 * One shared HTTP client stands in for the fleet's connections (the CDN's view is the same).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck, type CheckResult, type HelperClient } from '../agent/check.js';
import { createHttpClient } from '../agent/http/index.js';
import { MemoryLogger } from '../agent/log.js';
import { StateStore } from '../agent/state.js';
import { buildSignedManifest } from '../pipeline/manifests/build.js';
import { generateSigningKey, publicKeyFromBase64, signingKeyFromText } from '../schema/keys.js';
import { signEnvelope } from '../schema/signing.js';
import { MANIFEST_DEFAULTS, withReleaseDefaults } from '../schema/types.js';
import { makeLoopbackTls } from '../scripts/loopback-tls.js';
import { startCdn } from '../scripts/demo/cdn.js';
import { sampleDigest, samplePackage } from '../scripts/sample-packages.js';
import { machine, peakRssMiB, type Bench } from './bench.js';

const DEVICES = 10_000;
const CONCURRENCY = 64;
const PKG_BYTES = 64 * 1024;

export const bench: Bench = {
  name: 'fleet',
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-bench-fleet-'));
    for (const d of ['tls', 'agent', 'manifests', 'devices']) mkdirSync(join(dir, d));
    const tls = makeLoopbackTls(join(dir, 'tls'));
    const cdn = await startCdn(tls, { '/agent/': join(dir, 'agent'), '/manifests/': join(dir, 'manifests') });
    const key = signingKeyFromText(generateSigningKey().privateKeyText);
    const releases = ['1.0.1', '1.0.2'].map((v) => {
      writeFileSync(join(dir, 'agent', `${v}.pkg`), samplePackage(v, PKG_BYTES));
      return withReleaseDefaults(
        {
          version: v,
          download_url: cdn.url(`/agent/${v}.pkg`),
          ...sampleDigest(v, PKG_BYTES),
          rollout_percent: v === '1.0.2' ? 10 : 100,
        },
        Date.now(),
      );
    });
    const signed = buildSignedManifest({
      channel: 'stable',
      releases,
      policy: { manifest: MANIFEST_DEFAULTS },
      now: new Date(),
      previousSequence: null,
    });
    const manifestText = `${JSON.stringify(signEnvelope(signed, [key]), null, 2)}\n`;
    writeFileSync(join(dir, 'manifests', 'latest.json'), manifestText);

    const http = createHttpClient({ caFile: tls.caFile, bin: 'mngd-agent' });
    const helper: HelperClient = {
      install: (req) =>
        Promise.resolve({
          v: 1,
          id: req.id ?? 'bench',
          ok: true,
          outcome: 'installed',
          version: req.version,
          exit_code: 0,
          output_tail: '',
        }),
      manifest: () =>
        Promise.resolve({ v: 1, id: 'bench', ok: true, outcome: 'accepted', channel: 'stable', sequence: 0 } as const),
    };
    const trustedKeys = [publicKeyFromBase64(key.public_key)];
    const current = new Map<string, string>();
    const stores = new Map<string, StateStore>();
    for (let i = 0; i < DEVICES; i++) current.set(`device-${i}`, '1.0.1');

    const phase = async (name: string) => {
      const before = { ...cdn.stats };
      const t0 = process.hrtime.bigint();
      const results: CheckResult[] = [];
      const ids = [...current.keys()];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!;
            let state = stores.get(id);
            if (!state) {
              state = new StateStore(join(dir, 'devices', id));
              await state.init();
              stores.set(id, state);
            }
            const r = await runCheck({
              manifestUrl: cdn.url('/manifests/latest.json'),
              channel: 'stable',
              trustedKeys,
              deviceId: id,
              currentVersion: current.get(id)!,
              http,
              helper,
              state,
              log: new MemoryLogger(),
              now: () => new Date(),
            });
            if (r.outcome === 'updated' && r.target) current.set(id, r.target);
            results.push(r);
          }
        }),
      );
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const updated = results.filter((r) => r.outcome === 'updated').length;
      const failed = results.filter((r) => r.outcome === 'failed').length;
      ctx.log(
        `${name}: ${DEVICES} checks in ${s.toFixed(1)} s (${(DEVICES / s).toFixed(0)} checks/s); ${cdn.stats.requests - before.requests} requests ` +
          `(${cdn.stats.notModified - before.notModified} × 304), ${((cdn.stats.bodyBytes - before.bodyBytes) / 1024 / 1024).toFixed(1)} MiB of bodies; ` +
          `${updated} updated (${((updated / DEVICES) * 100).toFixed(2)} %), ${failed} failed`,
      );
    };
    ctx.log(
      `${machine()}; manifest ${manifestText.length} bytes, package ${PKG_BYTES / 1024} KiB, 1.0.2 at 10 % rollout`,
    );
    await phase('first check, 10 % rollout');
    await phase('unchanged manifest');
    ctx.log(`peak RSS ${(await peakRssMiB()).toFixed(0)} MiB`);
    await cdn.close();
  },
};
