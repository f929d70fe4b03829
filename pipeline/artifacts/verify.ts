/**
 * The hash step: proves that every selected release's download_url serves exactly the bytes its
 * sha256 and size say. Used by `mngd-release verify-artifacts` and by `apply` before it syncs
 * or publishes anything.
 *
 *   const report = await verifyArtifacts(set, { scope: { kind: 'manifest' }, caFile, stateDir });
 *   report.exitCode  // 0 all match; 1 a package does not match (fix the PR); 2 TLS (trust the CA); 3 a server failed (retry)
 */
import { createHttpClient, type HttpClient } from '../../agent/http/index.js';
import { openArtifactCache, type ArtifactCache } from './cache.js';
import { checkArtifact, type ArtifactResult, type Outcome } from './check.js';
import { packageUnits, selectReleases, type PackageUnit, type Scope } from './select.js';
import { EXIT } from '../../schema/exit.js';
import { messageOf } from '../../schema/errors.js';
import type { Problem } from '../releases/index.js';
import type { ReleaseSet } from '../releases/index.js';

export type { ArtifactResult, Outcome } from './check.js';
export type { Scope } from './select.js';

export const DEFAULT_CONCURRENCY = 4;

/** Told about each download as it goes (progress on a terminal, a line per artifact in CI). */
export interface ArtifactReporter {
  start?(lr: PackageUnit): void;
  progress?(lr: PackageUnit, bytes: number): void;
  done?(result: ArtifactResult): void;
}

export interface VerifyArtifactsOptions {
  /** which releases (default: those some manifest will list) */
  scope?: Scope;
  /** downloads at once (default 4) */
  concurrency?: number;
  /** the HTTP client (default: createHttpClient with caFile) */
  http?: HttpClient;
  /** extra CA for the default client */
  caFile?: string;
  /** the verified-results cache; or stateDir to open <stateDir>/artifact-cache.json; neither: no cache */
  cache?: ArtifactCache;
  stateDir?: string;
  reporter?: ArtifactReporter;
  now?: () => Date;
}

export interface ArtifactReport {
  /** in selection order (newest first) */
  results: ArtifactResult[];
  problems: Problem[];
  counts: Record<Outcome, number>;
  /** bytes downloaded in all */
  bytes: number;
  exitCode: typeof EXIT.OK | typeof EXIT.INVALID | typeof EXIT.USAGE | typeof EXIT.EXTERNAL;
  /** the cache could not be written (the results stand; the next run downloads again) */
  cacheError?: string;
}

/** Runs `work` over `items` with at most `limit` at once, keeping the input order in the output. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export function summarise(results: readonly ArtifactResult[]): Omit<ArtifactReport, 'results'> {
  const counts: Record<Outcome, number> = { verified: 0, cached: 0, mismatch: 0, unreachable: 0 };
  for (const r of results) counts[r.outcome]++;
  const problems = results.flatMap((r) => (r.problem ? [r.problem] : []));
  // A package that does not match is the pull request's to fix even if another server was down;
  // a TLS failure is a setting (exit 2): retrying the job would fail the same way.
  const tls = problems.some((p) => p.code === 'ARTIFACT_TLS');
  const exitCode =
    counts.mismatch > 0 ? EXIT.INVALID : tls ? EXIT.USAGE : counts.unreachable > 0 ? EXIT.EXTERNAL : EXIT.OK;
  return { problems, counts, bytes: results.reduce((n, r) => n + r.bytes, 0), exitCode };
}

export async function verifyArtifacts(set: ReleaseSet, opts: VerifyArtifactsOptions = {}): Promise<ArtifactReport> {
  // every package of every selected release: each artifact is downloaded and proven on its own
  const selected = packageUnits(selectReleases(set, opts.scope ?? { kind: 'manifest' }));
  const http =
    opts.http ??
    createHttpClient({ bin: 'mngd-release', ...(opts.caFile === undefined ? {} : { caFile: opts.caFile }) });
  const cache = opts.cache ?? (opts.stateDir !== undefined ? await openArtifactCache(opts.stateDir) : undefined);
  const { reporter } = opts;
  const results = await pool(selected, opts.concurrency ?? DEFAULT_CONCURRENCY, async (lr) => {
    reporter?.start?.(lr);
    const result = await checkArtifact(lr, {
      http,
      ...(cache ? { cache } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(reporter?.progress ? { onProgress: (bytes: number) => reporter.progress?.(lr, bytes) } : {}),
    });
    reporter?.done?.(result);
    return result;
  });
  let cacheError: string | undefined;
  try {
    await cache?.save();
  } catch (err) {
    cacheError = `could not write the artifact cache: ${messageOf(err)}`;
  }
  return { results, ...summarise(results), ...(cacheError === undefined ? {} : { cacheError }) };
}
