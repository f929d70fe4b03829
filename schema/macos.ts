/**
 * macOS product versions (`sw_vers -productVersion`: 12.7.6, 13.6.1, 26.1), never Darwin kernel
 * numbers (21.6.0 is macOS 12): electron-builder #8682 shipped to the wrong Macs by comparing
 * the two. Compared part by part as integers; missing parts count as 0 (13 == 13.0 == 13.0.0).
 */
import { InternalError } from './errors.js';

export const MACOS_VERSION_PATTERN = '^(1[0-5]|2[6-9]|[3-9][0-9])(\\.(0|[1-9][0-9]{0,2})){0,2}$';
const MACOS_RE = new RegExp(MACOS_VERSION_PATTERN);
const SHAPE_RE = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){0,2}$/;

export function isMacosVersion(text: string): boolean {
  return MACOS_RE.test(text) && (Number(text.split('.')[0]) !== 10 || text.includes('.'));
}

/**
 * The macOS a Darwin major belongs to: 16-19 are 10.12-10.15, 20-24 are 11-15, 25 is 26
 * (macOS skipped from 15 to 26 in 2025). Null outside the Darwin range.
 */
export function macosOfDarwin(major: number): string | null {
  if (major >= 16 && major <= 19) return `10.${major - 4}`;
  if (major >= 20 && major <= 24) return String(major - 9);
  if (major === 25) return '26';
  return null;
}

/** Why `text` is not a macOS product version, with the fix; null when it is one. */
export function explainMacosVersion(text: string): string | null {
  if (isMacosVersion(text)) return null;
  if (!SHAPE_RE.test(text)) return 'write a macOS product version as sw_vers prints it, e.g. 13.0 or 12.7.6';
  const major = Number(text.split('.')[0]);
  const macos = macosOfDarwin(major);
  if (macos !== null)
    return `${text} looks like a Darwin (kernel) version; macOS ${macos} is ${macos.includes('.') ? macos : `${macos}.0`}: write the product version sw_vers -productVersion prints`;
  if (major === 10) return 'macOS 10 needs its minor version (e.g. 10.15)';
  return `macOS ${major} does not exist: write a product version such as 13.0, 14.6.1 or 26.1`;
}

function parts(v: string): number[] {
  if (!isMacosVersion(v)) throw new InternalError(`not a macOS product version: ${JSON.stringify(v)}`);
  return v.split('.').map(Number);
}

/** Negative when a < b, 0 when equal (13 == 13.0), positive when a > b. Throws on a non-version. */
export function compareMacos(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface MacosRange {
  macos_min: string | null;
  macos_max: string | null;
}

/** `macos` within [macos_min, macos_max], each end inclusive and optional. */
export function macosWithin(macos: string, r: MacosRange): boolean {
  if (r.macos_min !== null && compareMacos(macos, r.macos_min) < 0) return false;
  if (r.macos_max !== null && compareMacos(macos, r.macos_max) > 0) return false;
  return true;
}
