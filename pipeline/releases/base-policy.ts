/** The policy as it was at a git ref (a pull request's base), for `plan --changed-since`. */
import { relative } from 'node:path';
import type { Policy } from '../../schema/types.js';
import { git, resolveRef } from './git-ref.js';
import { parsePolicy } from './policy-file.js';

export interface BasePolicy {
  /** null when the base has no readable policy (a new repository, or one invalid at the base) */
  policy: Policy | null;
  commit: string;
}

/** `policyFile` is relative to `root` (as ReleaseSet.policyFile). */
export async function readBasePolicy(root: string, policyFile: string, ref: string): Promise<BasePolicy> {
  const commit = await resolveRef(root, ref);
  const path = relative(root, `${root}/${policyFile}`).replace(/\\/g, '/');
  const shown = await git(root, ['show', `${commit}:${path}`]);
  if (!shown.ok) return { policy: null, commit };
  return { policy: parsePolicy(policyFile, Buffer.from(shown.stdout, 'utf8')).policy, commit };
}
