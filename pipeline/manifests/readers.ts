/**
 * What spec-1 readers get that spec-2 readers do not (docs/DESIGN.md "Projections for older
 * readers"), one line each, for plan and publish: "spec-1 readers: 1.1.0 not offered (requires
 * macOS ≥ 14.0); floor 1.1.0 dropped". Pure: the two signed manifests of one channel.
 */
import { requiresOf } from '../../schema/artifacts.js';
import type { Release, SignedManifest, SignedManifest2 } from '../../schema/types.js';
import { compareVersions } from '../../schema/version.js';

function whyLeftOut(r: Release | undefined, e: SignedManifest2['releases'][number], spec1: SignedManifest): string {
  const reasons: string[] = [];
  if (!e.artifacts.some((a) => a.arch === 'universal'))
    reasons.push(`no universal package (${e.artifacts.map((a) => a.arch).join(', ')} only)`);
  const q = r === undefined ? e.requires : requiresOf(r);
  if (q.macos_min !== null) reasons.push(`requires macOS ≥ ${q.macos_min}`);
  if (q.macos_max !== null) reasons.push(`requires macOS ≤ ${q.macos_max}`);
  if (reasons.length === 0) {
    const last = spec1.releases[spec1.releases.length - 1];
    return last !== undefined && compareVersions(e.version, last.version) < 0
      ? `older than ${last.version}, which every spec-1 reader can take`
      : 'over the list limit';
  }
  return reasons.join(', ');
}

/** The differences between what the two specs offer on one channel; empty when none. */
export function readerDifferences(
  spec2: SignedManifest2,
  spec1: SignedManifest,
  releases: readonly Release[] = [],
): string[] {
  const out: string[] = [];
  const in1 = new Set(spec1.releases.map((r) => r.version));
  const byVersion = new Map(releases.map((r) => [r.version, r]));
  for (const e of spec2.releases)
    if (!in1.has(e.version)) out.push(`${e.version} not offered (${whyLeftOut(byVersion.get(e.version), e, spec1)})`);
  if (spec2.min_required_version !== null && spec1.min_required_version === null)
    out.push(`floor ${spec2.min_required_version} dropped (no release they can take satisfies it)`);
  if (spec2.rescue_from.length > 0)
    out.push(`no rescue from ${spec2.rescue_from.join(', ')} (Macs on it wait for their own cohort)`);
  return out;
}

/** "spec-1 readers: …" or null when both specs offer the same. */
export function readerLine(
  spec2: SignedManifest2,
  spec1: SignedManifest,
  releases?: readonly Release[],
): string | null {
  const d = readerDifferences(spec2, spec1, releases);
  return d.length === 0 ? null : `spec-1 readers: ${d.join('; ')}`;
}
