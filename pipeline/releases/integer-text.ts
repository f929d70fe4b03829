/** What a person meant by a number written as text in a release file (pure). */

const UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * The whole number a person meant by `10%`, `3 MB` or `34,000`, when it is certain; null
 * otherwise. A unit is binary (3 MB is 3145728 bytes, as Finder's "3 MB" rounds): a guide to
 * the right field, never a substitute for the exact size mngd-release hash prints.
 */
export function integerFix(field: string, text: string): number | null {
  const t = text.trim();
  if (/^\d{1,3}([,_ ]\d{3})+$/.test(t)) return Number(t.replace(/[,_ ]/g, ''));
  if (field === 'rollout_percent') {
    const pct = /^(\d+)\s*%$/.exec(t);
    return pct ? Number(pct[1]) : null;
  }
  const unit = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(t);
  const factor = unit ? UNITS[unit[2]!.toLowerCase()] : undefined;
  if (unit === null || factor === undefined) return null;
  const bytes = Number(unit[1]) * factor;
  return Number.isSafeInteger(bytes) ? bytes : null;
}
