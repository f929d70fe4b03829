/**
 * Every change to releases/policy.yaml between a base (the pull request's base commit) and the
 * working tree, one line a reviewer reads each. Pure. A change of trusted_keys is a load event:
 * it decides whose signatures publish may use.
 */
import type { Policy } from '../../schema/types.js';

export interface PolicyDiff {
  /** "trusted_keys: + 4f1c2a… (production 2027)", "manifest.lifetime_days: 14 -> 7" */
  lines: string[];
  keysAdded: string[];
  keysRemoved: string[];
}

const short = (keyid: string): string => `${keyid.slice(0, 12)}…`;
const show = (v: unknown): string => (v === undefined || v === null ? 'none' : JSON.stringify(v));

function listChange(field: string, before: readonly string[], after: readonly string[], lines: string[]): void {
  for (const a of after) if (!before.includes(a)) lines.push(`${field}: + ${a}`);
  for (const b of before) if (!after.includes(b)) lines.push(`${field}: - ${b}`);
}

export function diffPolicy(base: Policy, next: Policy): PolicyDiff {
  const lines: string[] = [];
  const beforeKeys = new Map(base.trusted_keys.map((k) => [k.keyid, k]));
  const afterKeys = new Map(next.trusted_keys.map((k) => [k.keyid, k]));
  const keysAdded = [...afterKeys.keys()].filter((id) => !beforeKeys.has(id));
  const keysRemoved = [...beforeKeys.keys()].filter((id) => !afterKeys.has(id));
  const label = (k: { keyid: string; comment?: string } | undefined, id: string) =>
    `${short(id)}${k?.comment ? ` (${k.comment})` : ''}`;
  for (const id of keysAdded) lines.push(`trusted_keys: + ${label(afterKeys.get(id), id)}`);
  for (const id of keysRemoved) lines.push(`trusted_keys: - ${label(beforeKeys.get(id), id)}`);
  listChange('allowed_url_prefixes', base.allowed_url_prefixes, next.allowed_url_prefixes, lines);
  listChange('channels', base.channels, next.channels, lines);
  for (const f of ['lifetime_days', 'refresh_window_days', 'cache_control', 'max_releases'] as const) {
    if (base.manifest[f] !== next.manifest[f])
      lines.push(`manifest.${f}: ${show(base.manifest[f])} -> ${show(next.manifest[f])}`);
  }
  for (const f of ['target', 'region', 'endpoint', 'force_path_style'] as const) {
    const b = base.publish?.[f];
    const a = next.publish?.[f];
    if (b !== a) lines.push(`publish.${f}: ${show(b)} -> ${show(a)}`);
  }
  const ringsBefore = base.rings ?? {};
  const ringsAfter = next.rings ?? {};
  for (const name of Object.keys(ringsAfter))
    if (!(name in ringsBefore)) lines.push(`rings: + ${name} (${ringsAfter[name]!.device_ids_file})`);
    else if (ringsBefore[name]!.device_ids_file !== ringsAfter[name]!.device_ids_file)
      lines.push(
        `rings.${name}.device_ids_file: ${ringsBefore[name]!.device_ids_file} -> ${ringsAfter[name]!.device_ids_file}`,
      );
  for (const name of Object.keys(ringsBefore)) if (!(name in ringsAfter)) lines.push(`rings: - ${name}`);
  // The salt is public (it is in every spec-2 manifest); what matters is that every ring hash changes.
  if (base.ring_salt !== next.ring_salt) lines.push('ring_salt changed: every published ring hash changes');
  return { lines, keysAdded, keysRemoved };
}
