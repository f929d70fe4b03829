/**
 * The policy's part of `plan`: every change to releases/policy.yaml against the base, a key change
 * as a load event, and the signing key that would no longer be trusted as an error. Pure.
 */
import type { Policy } from '../../schema/types.js';
import type { PlanSection, PlanWarning } from './plan-types.js';
import { diffPolicy, signingKeyProblems } from '../releases/index.js';

export interface PolicySectionInput {
  policy: Policy;
  policyFile: string;
  /** the base: its ref as given, and its policy (null: none readable there); undefined: no base */
  base?: { ref: string; policy: Policy | null };
  inUse: readonly { keyid: string; source: string }[];
}

/** null when there is nothing to say (no base given and the signing key is trusted). */
export function policySection(input: PolicySectionInput): PlanSection | null {
  const { policy, policyFile, base } = input;
  const problems = signingKeyProblems(policy, input.inUse, base?.policy ?? null, policyFile);
  const lines: string[] = [];
  const warnings: PlanWarning[] = [];
  let data: unknown = null;
  if (base !== undefined) {
    if (base.policy === null) lines.push(`${base.ref} has no readable ${policyFile}: every entry is new`);
    else {
      const d = diffPolicy(base.policy, policy);
      data = d;
      if (d.lines.length === 0) lines.push(`no change against ${base.ref}`);
      lines.push(...d.lines);
      if (d.keysAdded.length + d.keysRemoved.length > 0) {
        warnings.push({
          code: 'TRUSTED_KEYS_CHANGED',
          message: `trusted_keys changes (${d.keysAdded.length} added, ${d.keysRemoved.length} removed): publish signs only with keys listed here, and agents verify with the keys built into them. Rotate in order: trust the new key, sign with both, remove the old one from MNGD_SIGNING_KEY and publish, and only then remove it here (docs/github-setup.md, "Rotating the signing key")`,
        });
      }
    }
  }
  if (base === undefined && problems.length === 0) return null;
  return {
    id: 'policy',
    title: `Policy (${policyFile}${base ? ` against ${base.ref}` : ''})`,
    lines,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(problems.length > 0 ? { problems } : {}),
    data,
  };
}
