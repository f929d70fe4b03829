/**
 * The signing key in use must stay trusted. A policy that drops a key MNGD_SIGNING_KEY still holds
 * makes every publish fail with SIGNING_KEY_UNTRUSTED, a yank included: the pull request check
 * refuses it, naming the order that works. Pure: the key ids in use come from the caller.
 */
import type { Policy } from '../../schema/types.js';
import type { Problem } from './problems.js';

export const POLICY_KEY_STILL_SIGNING = 'POLICY_KEY_STILL_SIGNING';

/**
 * `inUse`: key ids of the configured signing key(s); `base`: the policy before this change, when
 * known (it tells a removal from a key never listed).
 */
export function signingKeyProblems(
  policy: Pick<Policy, 'trusted_keys'>,
  inUse: readonly { keyid: string; source: string }[],
  base: Pick<Policy, 'trusted_keys'> | null,
  policyFile: string,
): Problem[] {
  const trusted = new Set(policy.trusted_keys.map((k) => k.keyid));
  const wasTrusted = new Set(base?.trusted_keys.map((k) => k.keyid) ?? []);
  return inUse
    .filter((k) => !trusted.has(k.keyid))
    .map((k) => ({
      severity: 'error',
      code: POLICY_KEY_STILL_SIGNING,
      file: policyFile,
      message: wasTrusted.has(k.keyid)
        ? `this change removes key ${k.keyid} from trusted_keys, but ${k.source} still signs with it: every publish would fail (SIGNING_KEY_UNTRUSTED), a yank included. Rotate in this order: remove it from MNGD_SIGNING_KEY first, publish, then remove it from trusted_keys`
        : `${k.source} signs with key ${k.keyid}, which trusted_keys does not list: every publish would fail (SIGNING_KEY_UNTRUSTED), a yank included. If this key is being removed: remove it from MNGD_SIGNING_KEY first, publish, then remove it from trusted_keys; if it is new, add its entry ("mngd-release keygen" prints it)`,
    }));
}
