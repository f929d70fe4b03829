/**
 * The rules of a package URL (a release's download_url, or each artifact's): parseable, no user
 * info, no fragment, under an allowed prefix as written and as resolved. Pure.
 */
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import type { Policy } from '../../schema/types.js';

export const DOWNLOAD_URL_EXPECTED =
  'an https:// URL of the pkg without user info or #fragment, e.g. https://cdn.mngd.app/agent/mngd-agent-1.0.3.pkg';

export interface UrlProblem {
  code: ReleaseProblemCode;
  message: string;
}

/** Every problem of one package URL; `label` names it in the messages ("download_url", "artifacts[1].download_url"). */
export function urlProblems(raw: string, policy: Policy | null, label = 'download_url'): UrlProblem[] {
  const out: UrlProblem[] = [];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [
      { code: 'RELEASE_BAD_DOWNLOAD_URL', message: `${label} is not a valid URL; expected ${DOWNLOAD_URL_EXPECTED}` },
    ];
  }
  // Agents fetch without credentials; a secret in the URL would also end up in every manifest.
  if (url.username !== '' || url.password !== '') {
    out.push({
      code: 'RELEASE_URL_CREDENTIALS',
      message: `${label} contains user info (user:password@); expected a public URL: remove the credentials and make the package publicly readable on the CDN`,
    });
  }
  if (raw.includes('#')) {
    out.push({
      code: 'RELEASE_URL_FRAGMENT',
      message: `${label} has a #fragment; expected none: remove everything from "#"`,
    });
  }
  // Judge the URL agents will fetch, not only its spelling: "/agent/../x" and "/agent/%2e%2e/x"
  // start with the prefix but resolve outside it.
  if (policy !== null && !policy.allowed_url_prefixes.some((p) => raw.startsWith(p))) {
    out.push({
      code: 'RELEASE_URL_PREFIX',
      message: `${label} is outside the allowed locations; expected it to start with ${policy.allowed_url_prefixes.join(' or ')}: upload the package there, or add the prefix to releases/policy.yaml in its own reviewed change`,
    });
  } else if (policy !== null && !policy.allowed_url_prefixes.some((p) => url.href.startsWith(p))) {
    out.push({
      code: 'RELEASE_URL_PREFIX',
      message: `${label} resolves to ${url.href}, outside the allowed locations (its "." or ".." path segments leave ${policy.allowed_url_prefixes.join(' or ')}); expected a plain path under an allowed prefix: write the package's real URL without "." or ".." segments`,
    });
  }
  return out;
}
