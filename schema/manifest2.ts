/**
 * Reading a spec-2 manifest: the spec-2 schema, then what it cannot say (each rule a reader checks
 * after the schema, so a signed but malformed manifest, a publisher bug, is refused instead of
 * acted on), then spec 1's own checks: signature, channel, expiry, rollback (schema/manifest.ts).
 */
import { compareMacos } from './macos.js';
import {
  checkManifest,
  decodeManifest,
  manifestError,
  schemaRefusal,
  specOf,
  type AcceptedManifest,
  type ManifestProblem,
  type VerifyOptions,
} from './manifest.js';
import { MANIFEST2_SPEC } from './manifest2.schema.js';
import type { Manifest2, SignedManifest2 } from './types.js';
import { describeSchemaErrors, validateManifest2 } from './validators.js';
import { compareVersions } from './version.js';

/** Every problem of a schema-valid spec-2 `signed` body, one line each (empty: none). */
export function manifest2Problems(signed: SignedManifest2): string[] {
  const out: string[] = [];
  signed.releases.forEach((r, i) => {
    const at = `/releases/${i} (${r.version})`;
    if (i > 0 && compareVersions(signed.releases[i - 1]!.version, r.version) <= 0)
      out.push(`${at}: releases must be newest first, each version once`);
    const arches = r.artifacts.map((a) => a.arch);
    if (new Set(arches).size !== arches.length) out.push(`${at}: an arch is listed twice (${arches.join(', ')})`);
    const { macos_min: lo, macos_max: hi } = r.requires;
    if (lo !== null && hi !== null && compareMacos(lo, hi) > 0)
      out.push(`${at}: requires.macos_min ${lo} is above macos_max ${hi}`);
    if (r.rollout[0]!.at !== null) out.push(`${at}: the first rollout step must have at: null`);
    for (let s = 1; s < r.rollout.length; s++) {
      const [prev, cur] = [r.rollout[s - 1]!, r.rollout[s]!];
      if (cur.at === null || (prev.at !== null && Date.parse(cur.at) <= Date.parse(prev.at)))
        out.push(`${at}: rollout step ${s} must have a time after the step before it`);
    }
    for (const ring of r.rings ?? [])
      if (!(ring in signed.rings)) out.push(`${at}: ring "${ring}" is not in the manifest's rings`);
  });
  if (Date.parse(signed.expires_at) <= Date.parse(signed.published_at)) out.push('/expires_at: not after published_at');
  return out;
}

/** Stage 1 for spec 2, bytes to manifest: size, UTF-8 JSON, the spec-2 schema, then its rules. */
export type ParsedManifest2 =
  | { manifest: Manifest2; problem: null; sequence: number }
  | { manifest: null; problem: ManifestProblem; sequence: number | null };

export function parseManifest2(raw: Buffer | string): ParsedManifest2 {
  const decoded = decodeManifest(raw);
  if (!decoded.ok) return decoded.refused;
  const data = decoded.data;
  const spec = specOf(data);
  // A spec-2 reader never falls back to spec 1: a spec-1 manifest at its URL is refused by name.
  if (spec !== MANIFEST2_SPEC && typeof spec === 'number')
    return schemaRefusal(
      data,
      `is spec ${spec}; this reader follows spec 2 only (its URL is …/v2/latest.json)`,
      'MANIFEST_SPEC',
    );
  if (!validateManifest2(data)) return schemaRefusal(data, describeSchemaErrors(validateManifest2.errors));
  // Signed but malformed (a publisher bug): refused, never acted on.
  const problems = manifest2Problems(data.signed);
  if (problems.length > 0) return schemaRefusal(data, problems.join('; '));
  return { manifest: data, problem: null, sequence: data.signed.sequence };
}

export interface VerifiedManifest2 {
  manifest: Manifest2;
  signed: SignedManifest2;
  signers: string[];
  accepted: AcceptedManifest;
}

/** Stage 3 for spec 2, what agent and helper call: the same checks as spec 1 (checkManifest), spec 2's parse. */
export function verifyManifest2(raw: Buffer | string, opts: VerifyOptions): VerifiedManifest2 {
  const parsed = parseManifest2(raw);
  if (parsed.manifest === null) throw manifestError(parsed.problem);
  const checked = checkManifest(parsed.manifest, opts);
  const first = checked.problems[0];
  if (first !== undefined) throw manifestError(first);
  return {
    manifest: parsed.manifest,
    signed: parsed.manifest.signed,
    signers: checked.signers,
    accepted: checked.accepted,
  };
}
