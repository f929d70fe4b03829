/** The releases and manifests choose v2's tests build on: a universal release at 100 % by default. */
import type { ManifestLike, ReleaseLike } from '../../schema/choose2.js';

export type Arch = 'universal' | 'arm64' | 'x86_64';
export type R = ReleaseLike<{ arch: Arch }>;

export const PUBLISHED = '2026-12-04T10:00:00Z';
export const EXPIRES = '2026-12-18T10:00:00Z';
export const NOW = Date.parse('2026-12-05T10:00:00Z');
export const SALT = 'a1b2c3';

export function rel(version: string, over: Partial<R> = {}): R {
  return {
    version,
    artifacts: [{ arch: 'universal' }],
    requires: { macos_min: null, macos_max: null },
    rollout: [{ at: null, percent: 100 }],
    ...over,
  };
}

export function manifest(releases: R[], over: Partial<ManifestLike<R>> = {}): ManifestLike<R> {
  return {
    published_at: PUBLISHED,
    expires_at: EXPIRES,
    min_required_version: null,
    releases,
    rings: {},
    ring_salt: SALT,
    rescue_from: [],
    ...over,
  };
}
