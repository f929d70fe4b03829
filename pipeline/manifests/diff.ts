/** What differs between the manifest git implies and a published one, as lines a person reads. Pure. */
import { canonicalize } from '../../schema/canonical.js';
import { MANIFEST_ENTRY_FIELDS } from '../../schema/channel.js';
import { IMMUTABLE_FIELDS } from '../../schema/sql/columns.js';
import { compareVersions } from '../../schema/version.js';
import type { ManifestRelease, SignedManifest } from '../../schema/types.js';
import { manifestContent } from './build.js';

const FIELDS = MANIFEST_ENTRY_FIELDS.filter((f) => f !== 'version');

const show = (v: unknown): string =>
  v === undefined || v === null
    ? 'none'
    : typeof v === 'string' && v.length > 60
      ? JSON.stringify(`${v.slice(0, 57)}...`)
      : JSON.stringify(v);

/** An empty list means the content is the same (sequence and times are not content). */
export function diffManifests(expected: SignedManifest, actual: SignedManifest): string[] {
  const lines: string[] = [];
  if (expected.channel !== actual.channel)
    lines.push(`channel: git says ${show(expected.channel)}, published says ${show(actual.channel)}`);
  if (expected.min_required_version !== actual.min_required_version) {
    lines.push(
      `min_required_version: git says ${show(expected.min_required_version)}, published says ${show(actual.min_required_version)}`,
    );
  }
  const published = new Map(actual.releases.map((r) => [r.version, r]));
  const wanted = new Map(expected.releases.map((r) => [r.version, r]));
  for (const r of expected.releases) {
    const p = published.get(r.version);
    if (p === undefined) {
      lines.push(`${r.version}: git offers it (rollout ${r.rollout_percent}%), the published manifest does not`);
      continue;
    }
    for (const f of FIELDS) {
      const a = (r as ManifestRelease)[f];
      const b = p[f];
      if (a !== b) lines.push(`${r.version} ${f}: git says ${show(a)}, published says ${show(b)}`);
    }
  }
  // The list ends at the newest release at 100 %: anything older is dropped, not withdrawn.
  const end = expected.releases.at(-1);
  const full = end !== undefined && end.rollout_percent === 100 ? end : undefined;
  for (const p of actual.releases) {
    if (wanted.has(p.version)) continue;
    if (full !== undefined && compareVersions(p.version, full.version) < 0)
      lines.push(`${p.version}: dropped from the list: ${full.version} is now at 100 %`);
    else lines.push(`${p.version}: published, but git does not offer it (yanked, paused out of the list, or removed)`);
  }
  if (lines.length === 0 && canonicalize(manifestContent(expected)) !== canonicalize(manifestContent(actual))) {
    lines.push('releases: the same entries in another order, or a field git does not write');
  }
  return lines;
}

export interface ImmutableChange {
  version: string;
  field: (typeof IMMUTABLE_FIELDS)[number];
  git: string | number;
  published: string | number;
}

/**
 * download_url, sha256 and size of a version never change once it has reached a manifest: the
 * releases git offers that the published manifest lists with another value. Pure.
 */
export function immutableChanges(expected: SignedManifest, published: SignedManifest): ImmutableChange[] {
  const byVersion = new Map(published.releases.map((r) => [r.version, r]));
  const out: ImmutableChange[] = [];
  for (const r of expected.releases) {
    const p = byVersion.get(r.version);
    if (p === undefined) continue;
    for (const field of IMMUTABLE_FIELDS) {
      if (r[field] !== p[field]) out.push({ version: r.version, field, git: r[field], published: p[field] });
    }
  }
  return out;
}

export function immutableChangeMessage(c: ImmutableChange, channel: string): string {
  return `${c.field} of ${c.version} is ${JSON.stringify(c.git)} in git but ${JSON.stringify(c.published)} in the published ${channel} manifest; download_url, sha256 and size never change once published. Restore the old value, and to ship a different package yank this version (active: false) and release a new version.`;
}
