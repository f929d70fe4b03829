/**
 * What the spec-2 JSON Schema cannot say: each rule a reader checks after the schema, so a signed
 * but malformed manifest (a publisher bug) is refused instead of acted on.
 */
import { compareMacos } from './macos.js';
import type { SignedManifest2 } from './types.js';
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
