/**
 * Which key ids the configured signing key uses, for checks that hold no secret: from
 * MNGD_SIGNING_KEY when it is set (the publish job, a laptop), and from MNGD_SIGNING_KEY_ID, the
 * public key id(s) kept as a repository variable for the pull-request check, which never gets the
 * secret. Only key ids leave here; the private key text is masked and never printed.
 */
import { setSecret } from '@actions/core';
import { SettingsError } from '../../schema/errors.js';
import { signingKeysFromText } from '../../schema/keys.js';
import { SIGNING_KEY_ENV } from './signing-keys.js';

export const SIGNING_KEY_ID_ENV = 'MNGD_SIGNING_KEY_ID';

export interface KeyInUse {
  keyid: string;
  /** where it was configured: MNGD_SIGNING_KEY or MNGD_SIGNING_KEY_ID */
  source: string;
}

export function signingKeyIdsInUse(env: Record<string, string | undefined>): KeyInUse[] {
  const out: KeyInUse[] = [];
  const secret = env[SIGNING_KEY_ENV];
  if (secret !== undefined && secret.trim() !== '') {
    if (env['GITHUB_ACTIONS'] === 'true')
      for (const part of [secret, ...secret.split(/[\s,]+/)]) if (part) setSecret(part);
    try {
      for (const k of signingKeysFromText(secret)) out.push({ keyid: k.keyid, source: SIGNING_KEY_ENV });
    } catch {
      // a malformed key is publish's to report (KEY_INVALID, before anything is written)
    }
  }
  for (const id of (env[SIGNING_KEY_ID_ENV] ?? '').split(/[\s,]+/).filter((s) => s !== '')) {
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new SettingsError(
        `${SIGNING_KEY_ID_ENV} must hold the key id(s) of the signing key (64 lowercase hex characters, as "mngd-release keygen" prints as keyid), separated by commas; got ${JSON.stringify(id.slice(0, 80))}`,
      );
    }
    if (!out.some((k) => k.keyid === id)) out.push({ keyid: id, source: SIGNING_KEY_ID_ENV });
  }
  return out;
}
