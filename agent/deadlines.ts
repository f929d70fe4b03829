/**
 * How long a check's downloads may take in all (TUF's slow retrieval): the read time-out bounds
 * only the gap between bytes, so a CDN dripping a byte a second would otherwise hold a check for
 * days, and the checkin behind it. The manifest has a total deadline; a package must arrive at a
 * minimum average rate (after a grace period for the connection); the run loop bounds the whole
 * check (run-loop.ts).
 */
export interface Deadlines {
  /** the manifest, retries included */
  manifestMs: number;
  /** a package: at least this many bytes per second on average... */
  packageMinBytesPerSecond: number;
  /** ...after this long (connect, TLS, a slow start) */
  packageGraceMs: number;
}

export const DEADLINES: Deadlines = {
  manifestMs: 60_000,
  packageMinBytesPerSecond: 8 * 1024,
  packageGraceMs: 60_000,
};

/** The total time allowed to fetch `bytes` more of a package. */
export function packageDeadlineMs(bytes: number, d: Deadlines = DEADLINES): number {
  return d.packageGraceMs + Math.ceil((bytes / d.packageMinBytesPerSecond) * 1000);
}
