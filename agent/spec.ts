/**
 * Which manifest spec an agent reads. An agent build is configured with the URL of the newest
 * spec it reads (docs/DESIGN.md): spec 2 lives at `…/v2/latest.json` and
 * `…/v2/channels/<name>/latest.json`, spec 1 at today's paths. A spec-2 agent never falls back to
 * spec 1, so a URL and a spec that disagree are a setting to fix, not something to guess around.
 */
import { SettingsError } from '../schema/errors.js';

/** True when the URL's path has a `v2` folder (`…/v2/latest.json`). */
function isV2Url(url: string): boolean {
  return new URL(url).pathname.split('/').includes('v2');
}

/** The spec from `manifest_spec` (1 or 2, as a number or text) or, without it, from the URL. */
export function specOfUrl(url: string, value: unknown, where: string): 1 | 2 {
  const fromUrl = isV2Url(url) ? 2 : 1;
  if (value === undefined || value === null) return fromUrl;
  const spec = value === 1 || value === '1' ? 1 : value === 2 || value === '2' ? 2 : null;
  if (spec === null) throw new SettingsError(`${where}: expected 1 or 2, got ${JSON.stringify(value)}`);
  if (spec !== fromUrl)
    throw new SettingsError(
      spec === 2
        ? `${where}: spec 2 is read from a …/v2/… URL (e.g. https://cdn.mngd.app/agent/v2/latest.json), but the manifest URL is ${url}; a spec-2 agent never reads spec 1`
        : `${where}: spec 1, but the manifest URL ${url} is a spec-2 (…/v2/…) URL; use …/latest.json or set manifest_spec to 2`,
    );
  return spec;
}
