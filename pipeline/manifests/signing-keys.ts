/**
 * The signing keys of a publish, from MNGD_SIGNING_KEY (one key, or several separated by commas or
 * newlines while a key is being rotated). The key text never reaches a log or an error message.
 */
import { setSecret } from '@actions/core';
import { SettingsError, ValidationError } from '../../schema/errors.js';
import { signingKeysFromText, type SigningKey } from '../../schema/keys.js';
import type { Policy } from '../../schema/types.js';

export const SIGNING_KEY_ENV = 'MNGD_SIGNING_KEY';

export type SigningKeyErrorCode = 'SIGNING_KEY_UNTRUSTED';

export interface SigningKeyOptions {
  env: Record<string, string | undefined>;
  policy: Pick<Policy, 'trusted_keys'>;
  policyFile?: string;
  /** masks a secret in CI logs; default: core.setSecret under GitHub Actions, else nothing */
  mask?: (secret: string) => void;
}

function defaultMask(env: Record<string, string | undefined>): (secret: string) => void {
  return env['GITHUB_ACTIONS'] === 'true' ? setSecret : () => undefined;
}

/**
 * Reads and checks the keys. Throws before any publish step runs: a missing variable (exit 2),
 * a malformed key (exit 1, KEY_INVALID), or a key the policy does not trust (exit 1).
 */
export function signingKeys({
  env,
  policy,
  policyFile = 'releases/policy.yaml',
  mask,
}: SigningKeyOptions): SigningKey[] {
  const text = env[SIGNING_KEY_ENV];
  if (text === undefined || text.trim() === '') {
    throw new SettingsError(
      `${SIGNING_KEY_ENV} is not set: it must hold the private signing key ("ed25519:<base64>"). ` +
        `Create one with "mngd-release keygen" and add its public key to trusted_keys in ${policyFile}; ` +
        'in GitHub Actions, pass the repository secret as this environment variable',
    );
  }
  // Mask before parsing, so even a malformed key cannot leak through a later log line.
  const m = mask ?? defaultMask(env);
  m(text);
  for (const part of text.split(/[\s,]+/)) if (part !== '') m(part);
  const keys = signingKeysFromText(text);
  const trusted = new Map(policy.trusted_keys.map((k) => [k.keyid, k.public_key]));
  // A key the agents do not trust would publish manifests every agent rejects: refuse it early.
  const untrusted = keys.filter((k) => trusted.get(k.keyid) !== k.public_key);
  if (untrusted.length > 0) {
    throw new ValidationError<SigningKeyErrorCode>(
      'SIGNING_KEY_UNTRUSTED',
      `${SIGNING_KEY_ENV} holds ${untrusted.length === 1 ? 'a key' : `${untrusted.length} keys`} that ${policyFile} does not trust ` +
        `(key id ${untrusted.map((k) => k.keyid).join(', ')}); agents would reject what it signs. ` +
        `Add its public key and key id (printed by "mngd-release keygen") to trusted_keys in ${policyFile}, or use a trusted key`,
    );
  }
  // The same key twice would give two identical signatures; keep one.
  return keys.filter((k, i) => keys.findIndex((o) => o.keyid === k.keyid) === i);
}
