/**
 * Signed spec-2 manifests for the agent and helper tests, built as docs/DESIGN.md defines them
 * and signed with the repository's signing code (schema/signing.ts). Until the pipeline builds
 * spec 2 (pipeline/manifests/), tests write the `signed` body directly; it passes the spec-2
 * schema and manifest2Problems, which every reader checks.
 */
import { signEnvelope } from '../../schema/signing.js';
import type { SigningKey } from '../../schema/keys.js';
import type { Manifest2Artifact, Manifest2Release, SignedManifest2 } from '../../schema/types.js';
import { validateManifest2, describeSchemaErrors } from '../../schema/validators.js';
import { manifest2Problems } from '../../schema/manifest2.js';

export type Arch = Manifest2Artifact['arch'];

export interface Release2 {
  version: string;
  /** the packages, one per arch */
  artifacts: Manifest2Artifact[];
  macos_min?: string | null;
  macos_max?: string | null;
  /** a fixed share (default 100) or absolute steps */
  rollout?: number | Manifest2Release['rollout'];
  rings?: string[];
}

export interface Manifest2Input {
  releases: Release2[];
  channel?: string;
  sequence: number;
  now: Date;
  floor?: string | null;
  rescueFrom?: string[];
  rings?: Record<string, string[]>;
  ringSalt?: string;
  lifetimeDays?: number;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function signed2(m: Manifest2Input): SignedManifest2 {
  const signed: SignedManifest2 = {
    type: 'mngd-agent-manifest',
    spec: 2,
    channel: m.channel ?? 'stable',
    sequence: m.sequence,
    published_at: iso(m.now),
    expires_at: iso(new Date(m.now.getTime() + (m.lifetimeDays ?? 14) * 86_400_000)),
    min_required_version: m.floor ?? null,
    releases: m.releases.map((r) => ({
      version: r.version,
      artifacts: r.artifacts,
      requires: { macos_min: r.macos_min ?? null, macos_max: r.macos_max ?? null },
      rollout: typeof r.rollout === 'object' ? r.rollout : [{ at: null, percent: r.rollout ?? 100 }],
      ...(r.rings === undefined ? {} : { rings: r.rings }),
    })),
    rings: m.rings ?? {},
    ring_salt: m.ringSalt ?? '5a17'.repeat(8),
    rescue_from: m.rescueFrom ?? [],
    provenance: { commit: 'abc1234', workflow_run: null, actor: null },
  };
  return signed;
}

/** The manifest's bytes, signed by `keys`; throws when the test built one no reader would accept. */
export function manifest2Bytes(m: Manifest2Input, keys: SigningKey[]): Buffer {
  const env = signEnvelope(signed2(m), keys);
  if (!validateManifest2(env)) throw new Error(`test manifest: ${describeSchemaErrors(validateManifest2.errors)}`);
  const problems = manifest2Problems(env.signed);
  if (problems.length > 0) throw new Error(`test manifest: ${problems.join('; ')}`);
  return Buffer.from(JSON.stringify(env));
}
