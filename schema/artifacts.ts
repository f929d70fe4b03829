/**
 * A release's packages and the Macs they run on (docs/DESIGN.md "Release file additions"). A
 * release file either names one package (`download_url`/`sha256`/`size`: one universal artifact)
 * or lists `artifacts: [{arch, download_url, sha256, size}]`; every reader goes through
 * `artifactsOf`, so the two forms are one list everywhere. Pure.
 */
import { compareMacos, macosWithin, type MacosRange } from './macos.js';

export const ARCHES = ['universal', 'arm64', 'x86_64'] as const;
export type Arch = (typeof ARCHES)[number];
export const HW_ARCHES = ['arm64', 'x86_64'] as const;
export type HwArch = (typeof HW_ARCHES)[number];

export interface Artifact {
  arch: Arch;
  download_url: string;
  sha256: string;
  size: number;
}

/** What the artifact rules read of a release (a release file, with or without `artifacts`). */
export interface ArtifactSource {
  artifacts?: readonly Artifact[] | undefined;
  download_url?: string | undefined;
  sha256?: string | undefined;
  size?: number | undefined;
  requires?: Partial<MacosRange> | undefined;
}

/** Every package of a release, the single form read as one universal artifact. */
export function artifactsOf(r: ArtifactSource): Artifact[] {
  if (r.artifacts !== undefined) return [...r.artifacts];
  if (r.download_url === undefined || r.sha256 === undefined || r.size === undefined) return [];
  return [{ arch: 'universal', download_url: r.download_url, sha256: r.sha256, size: r.size }];
}

/**
 * The artifact the table's legacy columns (download_url, sha256, size) carry: the universal one,
 * else the x86_64 one (Intel natively, Apple silicon through Rosetta), else arm64. Only a universal
 * one is ever served to a reader that cannot choose (spec 1, the legacy endpoint).
 */
export function legacyArtifact(artifacts: readonly Artifact[]): Artifact | null {
  for (const arch of ['universal', 'x86_64', 'arm64'] as const) {
    const a = artifacts.find((x) => x.arch === arch);
    if (a !== undefined) return a;
  }
  return null;
}

export function hasUniversal(r: ArtifactSource): boolean {
  return artifactsOf(r).some((a) => a.arch === 'universal');
}

/** `requires` with its defaults: no bound is null. */
export function requiresOf(r: ArtifactSource): MacosRange {
  return { macos_min: r.requires?.macos_min ?? null, macos_max: r.requires?.macos_max ?? null };
}

/** The macOS versions the policy supports; `oldest: null` when the policy does not say (every macOS). */
export interface SupportedMacos {
  oldest: string | null;
  newest: string | null;
}

/** Below every macOS a Mac can report: what "every macOS" starts at when the policy names no oldest. */
export const LOWEST_MACOS = '10.0';

/** The version just above `v` in product-version steps (13.0 -> 13.0.1): where a range ending at v stops. */
function justAbove(v: string): string {
  const p = [...v.split('.').map(Number), 0, 0].slice(0, 3) as [number, number, number];
  p[2] += 1;
  if (p[2] > 999) [p[1], p[2]] = [p[1] + 1, 0];
  if (p[1] > 999) [p[0], p[1]] = [p[0] + 1, 0];
  if (p[0] >= 16 && p[0] < 26) p[0] = 26; // after macOS 15 came 26
  return p.join('.');
}

/**
 * The lowest supported macOS on which `hw` hardware can run none of `releases` (each a range of
 * macOS with an artifact for hw), or null when they cover every supported macOS. Pure.
 */
export function firstUncovered(
  releases: readonly ArtifactSource[],
  hw: HwArch,
  supported: SupportedMacos,
): string | null {
  const ranges = releases
    .filter((r) =>
      artifactsOf(r).some((a) => a.arch === 'universal' || a.arch === hw || (hw === 'arm64' && a.arch === 'x86_64')),
    )
    .map(requiresOf);
  // `point` is the lowest macOS not yet known to be covered.
  let point = supported.oldest ?? LOWEST_MACOS;
  for (;;) {
    const here = point;
    const covering = ranges.filter((r) => macosWithin(here, r));
    if (covering.length === 0) return here;
    if (covering.some((r) => r.macos_max === null)) return null;
    const reach = covering.map((r) => r.macos_max!).reduce((a, b) => (compareMacos(a, b) >= 0 ? a : b));
    point = justAbove(reach);
    if (supported.newest !== null && compareMacos(point, supported.newest) > 0) return null;
  }
}

/** Whether a release runs on every supported macOS and arch: what a reader that cannot choose may get. */
export function runsOnEveryMac(r: ArtifactSource, supported: SupportedMacos): boolean {
  return HW_ARCHES.every((hw) => firstUncovered([r], hw, supported) === null) && hasUniversal(r);
}

/** The policy's supported macOS range, or every macOS when it names none. */
export function supportedMacosOf(
  policy: { supported_macos?: { oldest: string; newest: string } } | null,
): SupportedMacos {
  return policy?.supported_macos ?? { oldest: null, newest: null };
}
