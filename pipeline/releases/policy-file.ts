/** `releases/policy.yaml` -> a checked Policy with its defaults, or the problems (pure). */
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import { policySchema } from '../../schema/policy.schema.js';
import { keyIdOf } from '../../schema/keys.js';
import { withPolicyDefaults, type Policy, type PolicyFile } from '../../schema/types.js';
import { validatePolicyFile } from '../../schema/validators.js';
import type { Problem } from './problems.js';
import { closest } from '../../schema/suggest.js';
import { parseYamlSource, positionAtPath } from './yaml-source.js';

const HINTS: Record<string, string> = {
  allowed_url_prefixes: 'a list of https:// prefixes ending in "/", e.g. - https://cdn.mngd.app/agent/',
  channels: 'a list of channel names that includes stable, e.g. [stable, beta]',
  trusted_keys: 'a list of {keyid, public_key} as "mngd-release keygen" prints them',
  manifest: 'a map with lifetime_days, refresh_window_days, cache_control, max_releases',
  rings: 'a map of ring names to {device_ids_file: rings/<name>.txt} (a path from the repository root, no "..")',
  ring_salt: 'random hex of 32 to 128 characters: run openssl rand -hex 32',
  guard: 'a map with window (30m, 6h, 2d), min_attempts, max_failure_rate (0 to 1), max_rollbacks',
  publish: 'a map with target (s3://bucket/prefix or a directory), region, endpoint, force_path_style',
};

export interface ParsedPolicy {
  policy: Policy | null;
  problems: Problem[];
}

export function parsePolicy(file: string, bytes: Buffer): ParsedPolicy {
  const src = parseYamlSource(file, bytes, 'policy');
  const problems = src.problems;
  if (src.entries === null) return { policy: null, problems };
  const data: Record<string, unknown> = {};
  for (const [key, entry] of src.entries) data[key] = entry.value;
  const err = (code: ReleaseProblemCode, path: (string | number)[], message: string) => {
    const pos = positionAtPath(src, path) ?? { line: 1, column: 1 };
    problems.push({ severity: 'error', code, file, line: pos.line, column: pos.column, message });
  };

  if (!validatePolicyFile(data)) {
    for (const e of validatePolicyFile.errors ?? []) {
      const path = e.instancePath
        .split('/')
        .slice(1)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      const top = String(path[0] ?? '');
      if (e.keyword === 'additionalProperties') {
        const key = String(e.params['additionalProperty']);
        const known = path.length === 0 ? Object.keys(policySchema.properties) : [];
        const guess = closest(key, known);
        err(
          'POLICY_UNKNOWN_KEY',
          [...path, key],
          `unknown key "${key}" in the policy${guess ? `: did you mean "${guess}"?` : ''}; remove it or fix its spelling`,
        );
      } else if (e.keyword === 'required') {
        const key = String(e.params['missingProperty']);
        err(
          'POLICY_MISSING_FIELD',
          path,
          `required field "${key}" is missing${HINTS[key] ? `: expected ${HINTS[key]}` : ''}`,
        );
      } else if (e.keyword === 'dependentRequired') {
        err(
          'POLICY_MISSING_FIELD',
          ['rings'],
          `rings needs ring_salt (ring members are published as SHA-256(ring_salt + "/" + device_id)): add ring_salt: <the output of openssl rand -hex 32>`,
        );
      } else if (e.keyword === 'contains') {
        err('POLICY_BAD_FIELD', path, 'channels must include stable: add "stable" to the list');
      } else {
        err(
          'POLICY_BAD_FIELD',
          path,
          `${e.instancePath.slice(1).replace(/\//g, '.')} ${e.message ?? 'is not valid'}${HINTS[top] ? `; expected ${HINTS[top]}` : ''}`,
        );
      }
    }
    return { policy: null, problems };
  }
  const policy = withPolicyDefaults(data as PolicyFile);
  policy.trusted_keys.forEach((k, i) => {
    const id = keyIdOf(Buffer.from(k.public_key, 'base64'));
    if (id !== k.keyid) {
      err(
        'POLICY_KEYID_MISMATCH',
        ['trusted_keys', i, 'keyid'],
        `keyid does not match public_key; expected ${id} (the SHA-256 of the raw public key): copy both lines from "mngd-release keygen" again`,
      );
    }
  });
  if (policy.manifest.refresh_window_days >= policy.manifest.lifetime_days) {
    err(
      'POLICY_BAD_FIELD',
      ['manifest', 'refresh_window_days'],
      `refresh_window_days (${policy.manifest.refresh_window_days}) must be below lifetime_days (${policy.manifest.lifetime_days}), or every run would re-sign`,
    );
  }
  return { policy: problems.length === 0 ? policy : null, problems };
}
