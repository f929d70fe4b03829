/** What differs between the spec-2 manifest git implies and a published one, as lines a person reads. Pure. */
import { canonicalize } from '../../schema/canonical.js';
import type { Manifest2Release, SignedManifest2 } from '../../schema/types.js';
import { manifest2Content } from './build2.js';
import type { ImmutableChange } from './diff.js';
import { compareVersions } from '../../schema/version.js';

const show = (v: unknown): string => (v === undefined || v === null ? 'none' : canonicalize(v));

const FIELDS = ['artifacts', 'requires', 'rollout', 'rings', 'release_notes'] as const;

/** An empty list means the content is the same (sequence, times and provenance are not content). */
export function diffManifests2(expected: SignedManifest2, actual: SignedManifest2): string[] {
  const lines: string[] = [];
  if (expected.min_required_version !== actual.min_required_version)
    lines.push(
      `min_required_version: git says ${show(expected.min_required_version)}, published says ${show(actual.min_required_version)}`,
    );
  const published = new Map(actual.releases.map((r) => [r.version, r]));
  const wanted = new Set(expected.releases.map((r) => r.version));
  for (const r of expected.releases) {
    const p = published.get(r.version);
    if (p === undefined) {
      lines.push(`${r.version}: git offers it, the published spec-2 manifest does not`);
      continue;
    }
    for (const f of FIELDS) {
      const a = (r as Manifest2Release)[f];
      const b = p[f];
      if (canonicalize(a ?? null) !== canonicalize(b ?? null))
        lines.push(`${r.version} ${f}: git says ${show(a)}, published says ${show(b)}`);
    }
  }
  // The list ends where every supported Mac has a release at 100 %: anything older is dropped, not withdrawn.
  const end = expected.releases.at(-1);
  for (const p of actual.releases) {
    if (wanted.has(p.version)) continue;
    if (end !== undefined && compareVersions(p.version, end.version) < 0)
      lines.push(
        `${p.version}: dropped from the list: releases at 100 % from ${end.version} up reach every supported Mac`,
      );
    else
      lines.push(
        `${p.version}: published, but git does not offer it in spec 2 (yanked, paused out of the list, or removed)`,
      );
  }
  for (const f of ['rescue_from', 'rings', 'ring_salt'] as const)
    if (canonicalize(expected[f]) !== canonicalize(actual[f]))
      lines.push(`${f}: git says ${show(expected[f])}, published says ${show(actual[f])}`);
  if (lines.length === 0 && canonicalize(manifest2Content(expected)) !== canonicalize(manifest2Content(actual)))
    lines.push('releases: the same entries in another order, or a field git does not write');
  return lines;
}

/**
 * The packages of a version never change once published (spec 1's rule, per artifact): an arch
 * whose download_url, sha256 or size git changed, or an arch added or removed. Pure.
 */
export function immutableChanges2(expected: SignedManifest2, published: SignedManifest2): ImmutableChange[] {
  const byVersion = new Map(published.releases.map((r) => [r.version, r]));
  const out: ImmutableChange[] = [];
  for (const r of expected.releases) {
    const p = byVersion.get(r.version);
    if (p === undefined) continue;
    const arches = new Set([...r.artifacts, ...p.artifacts].map((a) => a.arch));
    for (const arch of arches) {
      const g = r.artifacts.find((a) => a.arch === arch);
      const q = p.artifacts.find((a) => a.arch === arch);
      for (const field of ['download_url', 'sha256', 'size'] as const)
        if (g?.[field] !== q?.[field])
          out.push({
            version: `${r.version} (${arch})`,
            field,
            git: g?.[field] ?? 'none',
            published: q?.[field] ?? 'none',
          });
    }
  }
  return out;
}
