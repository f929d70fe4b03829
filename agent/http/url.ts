/** URL policy: what may be fetched, and how a URL is shown in messages and logs. */
import { escapeControlChars } from '../../schema/log-text.js';
import { HttpError } from './errors.js';

/** The URL fit for messages and logs: no user info, and the query (signed URL secrets) elided. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(an unparsable URL)';
  }
}

// Threat: a release file (or a redirect) that smuggles credentials, or a downgrade to plain
// http where anyone on the path can swap the package. Only https without user info passes.
export function checkUrl(raw: string, code: 'HTTP_INSECURE_URL' | 'HTTP_INSECURE_REDIRECT', from?: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new HttpError(
      code,
      '(invalid)',
      // A redirect's Location is the server's text: never echoed (log injection), only its length.
      from
        ? `${from} redirected to a Location that is not a valid URL (${raw.length} characters, not shown)`
        : `the URL "${escapeControlChars(raw.slice(0, 200))}" is not a valid URL`,
    );
  }
  const shown = displayUrl(u);
  const where = from ? `${from} redirected to ${shown}` : shown;
  if (u.protocol !== 'https:') {
    throw new HttpError(
      code,
      shown,
      `${where}: only https is allowed (a plain http download can be altered by anyone on the path); serve the package over https`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw new HttpError(
      code,
      shown,
      `${where}: the URL carries user info (credentials); packages are fetched without credentials, so remove "user:password@" from the URL`,
    );
  }
  return u;
}
