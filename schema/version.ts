/**
 * Agent versions: dotted numeric, 1 to 4 parts, no leading zeros, each part at most 999999999.
 * Compared part by part as integers; missing parts count as 0, so `1.0` equals `1.0.0`.
 */
import { InternalError } from './errors.js';

export const VERSION_PATTERN = '^(0|[1-9][0-9]{0,8})(\\.(0|[1-9][0-9]{0,8})){0,3}$';
const VERSION_RE = new RegExp(VERSION_PATTERN);

export const VERSION_RULE =
  'dotted numbers, 1 to 4 parts, no leading zeros, each at most 999999999 (e.g. 1.0.3 or 10.2.0.17)';

export function isVersion(text: string): boolean {
  return VERSION_RE.test(text);
}

/** Parts of a valid version, or null when `text` is not one. */
export function parseVersion(text: string): number[] | null {
  if (!VERSION_RE.test(text)) return null;
  return text.split('.').map(Number);
}

/** Why `text` is not a version, in words a person can act on; null when it is one. */
export function explainVersion(text: string): string | null {
  if (VERSION_RE.test(text)) return null;
  if (text === '') return 'it is empty';
  if (/^v\d/i.test(text)) return `drop the leading "${text[0]}" (write ${text.slice(1)})`;
  if (/[-+]/.test(text)) return 'pre-release and build suffixes such as "-beta" are not versions here';
  const parts = text.split('.');
  if (parts.some((p) => p === '')) return 'it has an empty part (two dots in a row, or a leading or trailing dot)';
  if (parts.some((p) => !/^\d+$/.test(p))) return 'every part must be digits only';
  if (parts.length > 4) return `it has ${parts.length} parts; at most 4 are allowed`;
  if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return 'a part has a leading zero';
  if (parts.some((p) => p.length > 9)) return 'a part is above 999999999';
  return 'it is not dotted numeric';
}

// Sorting thousands of releases compares the same few strings again and again.
const cache = new Map<string, number[]>();

function partsOf(v: string): number[] {
  const hit = cache.get(v);
  if (hit !== undefined) return hit;
  const parts = parseVersion(v);
  if (parts === null) throw new InternalError(`not a version: ${JSON.stringify(v)}`);
  if (cache.size >= 100_000) cache.clear();
  cache.set(v, parts);
  return parts;
}

/** Negative when a < b, 0 when equal (1.0 == 1.0.0), positive when a > b. Throws on a non-version. */
export function compareVersions(a: string, b: string): number {
  const pa = partsOf(a);
  const pb = partsOf(b);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * A key that sorts as compareVersions does, with plain string compares: every valid version has
 * at most 4 parts of at most 9 digits, so each part padded to 9 digits (missing parts as 0) keeps
 * the order, and 1.0 and 1.0.0 get the same key.
 */
export function versionSortKey(version: string): string {
  return `${version}.0.0.0`
    .split('.', 4)
    .map((p) => p.padStart(9, '0'))
    .join('.');
}

/** Sorts newest first (a copy, stable), by `versionOf` (default: the item's `version`). */
export function sortNewestFirst<T extends { version: string }>(items: readonly T[]): T[];
export function sortNewestFirst<T>(items: readonly T[], versionOf: (item: T) => string): T[];
export function sortNewestFirst<T>(
  items: readonly T[],
  versionOf: (item: T) => string = (item) => (item as { version: string }).version,
): T[] {
  // One key per item, then string compares: thousands of releases sort without re-parsing.
  return items
    .map((item) => ({ item, key: versionSortKey(versionOf(item)) }))
    .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
    .map((x) => x.item);
}
