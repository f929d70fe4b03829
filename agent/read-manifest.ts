/**
 * Steps 1-3 of a check, per manifest spec: fetch and verify with the spec's own schema and
 * spec 1's checks (agent/fetch-manifest.ts, schema/manifest2.ts), then a `decide` that chooses.
 * A spec-2 agent reads v2 only: a spec-1 manifest at its URL is refused (MANIFEST_SPEC), never
 * read instead. Spec 2 chooses with the Mac's facts, read by this agent itself when it decides.
 */
import type { MacFacts } from '../schema/device-facts.js';
import { DeviceFactsError } from '../schema/device-facts.js';
import { verifyManifest } from '../schema/manifest.js';
import { verifyManifest2 } from '../schema/manifest2.js';
import { withoutQuarantined } from '../schema/quarantine.js';
import type { FactsProvider } from '../helper/device-facts.js';
import { decide1, type Decision } from './decide.js';
import { decide2 } from './decide2.js';
import { fetchVerifiedManifest, type ManifestDeps } from './fetch-manifest.js';
import type { Step } from './check-result.js';
import type { AgentState } from './state.js';

export interface ReadDeps extends ManifestDeps {
  /** the manifest spec read (default 1): a spec-2 agent reads v2 only and never falls back */
  spec?: 1 | 2;
  /** spec 2: the Mac's facts, read by this agent itself (helper/device-facts.ts) */
  facts?: FactsProvider;
  deviceId: string;
  currentVersion: string;
  /** versions the helper rolled back on this Mac (its reply to the start ping): never offered again, either spec */
  quarantined?: () => readonly string[];
}

export type Read =
  | {
      ok: true;
      raw: Buffer;
      source: 'downloaded' | 'cached';
      signed: { sequence: number; channel: string };
      /** chooses; throws DeviceFactsError when spec 2 cannot read the Mac's facts */
      decide(): Promise<Decision>;
    }
  | { ok: false; step: Step; err: unknown };

const noFacts: FactsProvider = () =>
  Promise.reject(new DeviceFactsError('no device facts provider is configured (sw_vers_command, sysctl_command)'));

export async function readManifest(d: ReadDeps, state: AgentState): Promise<Read> {
  if (d.spec !== 2) {
    const f = await fetchVerifiedManifest(d, state, verifyManifest);
    if (!f.ok) return f;
    const { signed } = f.verified;
    const offered = { ...signed, releases: withoutQuarantined(signed.releases, d.quarantined?.() ?? []) };
    return { ...f, signed, decide: () => Promise.resolve(decide1(offered, d.currentVersion, d.deviceId)) };
  }
  const f = await fetchVerifiedManifest(d, state, verifyManifest2);
  if (!f.ok) return f;
  const { signed } = f.verified;
  const offered = { ...signed, releases: withoutQuarantined(signed.releases, d.quarantined?.() ?? []) };
  const decide = async (): Promise<Decision> => {
    const facts: MacFacts = await (d.facts ?? noFacts)();
    return decide2(offered, facts, d.currentVersion, d.deviceId, d.now());
  };
  return { ...f, signed, decide };
}
