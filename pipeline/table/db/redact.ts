/** Database URLs without their secrets: every message that names a database goes through here. */

/** postgres://user:secret@host/db -> postgres://user:***@host/db; also drops password= parameters. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key$/i.test(key) && key !== 'sslkey') u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    // Not parseable: print nothing of it rather than risk the password.
    return '<unparseable database URL>';
  }
}

/** Removes the URL's password from any text (driver messages sometimes echo parameters back). */
export function scrubSecrets(text: string, url: string | undefined): string {
  if (url === undefined) return text;
  let out = text.split(url).join(redactUrl(url));
  try {
    const u = new URL(url);
    const secrets = [u.password, decodeURIComponent(u.password), u.searchParams.get('password') ?? ''];
    for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  } catch {
    // nothing more to scrub
  }
  return out;
}
