/**
 * Verifies one release's package: streams download_url through SHA-256 (nothing held in memory
 * or written to disk), stops past `size`, and turns every way it can go wrong into a Problem on
 * the line of the field at fault.
 */
import { createHash } from 'node:crypto';
import type { ArtifactCode } from '../../schema/codes/index.js';
import { displayUrl, HttpError, type HttpClient, type HttpErrorCode } from '../../agent/http/index.js';
import type { Position } from '../releases/index.js';
import type { PackageUnit } from './select.js';
import type { Problem } from '../releases/index.js';
import type { ArtifactCache } from './cache.js';

/** verified: downloaded and matched; cached: the server confirmed (304) the bytes verified before. */
export type Outcome = 'verified' | 'cached' | 'mismatch' | 'unreachable';

export interface ArtifactResult {
  file: string;
  version: string;
  /** the artifact's arch (a release file with `artifacts`); absent for the single package */
  arch?: string;
  /** download_url without query or user info */
  url: string;
  size: number;
  sha256: string;
  outcome: Outcome;
  /** body bytes downloaded */
  bytes: number;
  /** SHA-256 of what arrived, when the whole body arrived */
  actualSha256?: string;
  /** the HTTP module's error code, when the download failed */
  httpCode?: HttpErrorCode;
  ms: number;
  problem?: Problem;
}

export interface CheckDeps {
  http: HttpClient;
  cache?: ArtifactCache;
  now?: () => Date;
  onProgress?: (bytes: number) => void;
}

function at(lr: PackageUnit, field: 'sha256' | 'size' | 'download_url'): { line?: number; column?: number } {
  const p: Position | undefined = lr.positions[field];
  return p === undefined ? {} : { line: p.line, column: p.column };
}

function problem(
  lr: PackageUnit,
  field: 'sha256' | 'size' | 'download_url',
  code: ArtifactCode,
  message: string,
): Problem {
  // an artifact's fields are named as the file writes them: "set artifacts[1].sha256 to …"
  const named =
    lr.fieldPrefix === ''
      ? message
      : message.replace(/\b(sha256|size|download_url)\b/g, (f: string) => `${lr.fieldPrefix}${f}`);
  const which = lr.arch === undefined ? '' : `${lr.arch} package of ${lr.release.version}: `;
  return { severity: 'error', code, file: lr.file, ...at(lr, field), message: `${which}${named}` };
}

/** A 4xx other than 408/429 is the release's fault (wrong URL, private object); the rest is the server's. */
function isClientStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Maps a failed download to the outcome and the Problem the release author sees. */
export function problemForHttpError(lr: PackageUnit, err: HttpError): { outcome: Outcome; problem: Problem } {
  const { size, sha256 } = lr.release;
  const url = displayUrl(lr.release.download_url);
  switch (err.code) {
    case 'HTTP_TOO_LARGE':
      return {
        outcome: 'mismatch',
        problem: problem(
          lr,
          'size',
          'ARTIFACT_TOO_LARGE',
          `the package at ${url} is larger than size ${size} (${err.announced !== undefined ? `the server announces ${err.announced} bytes` : `more than ${size} bytes arrived`}); the download was stopped there. If that package is right, set size and sha256 to its values (mngd-release hash gives them); if not, upload the right one`,
        ),
      };
    case 'HTTP_INSECURE_URL':
    case 'HTTP_INSECURE_REDIRECT':
    case 'HTTP_TOO_MANY_REDIRECTS':
      return {
        outcome: 'mismatch',
        problem: problem(
          lr,
          'download_url',
          'ARTIFACT_INSECURE_URL',
          `${err.message}; agents refuse it too, so point download_url at the final https URL`,
        ),
      };
    case 'HTTP_STATUS':
      if (isClientStatus(err.status)) {
        const notFound = err.status === 404 || err.status === 410;
        return {
          outcome: 'mismatch',
          problem: problem(
            lr,
            'download_url',
            notFound ? 'ARTIFACT_NOT_FOUND' : 'ARTIFACT_HTTP_STATUS',
            notFound
              ? `${url} answers HTTP ${err.status}: no package is served there; upload the package (sha256 ${sha256}, ${size} bytes) to that URL, or fix download_url`
              : `${err.message}; agents would get the same answer, so make the package downloadable without credentials or fix download_url`,
          ),
        };
      }
      break;
    case 'HTTP_TLS':
      // A setting (the CA trusted here, or the server's certificate): a re-run fails the same way.
      return {
        outcome: 'unreachable',
        problem: problem(
          lr,
          'download_url',
          'ARTIFACT_TLS',
          `${err.message} (or set NODE_EXTRA_CA_CERTS to that PEM file, which a workflow can put in env); a re-run fails the same way until the CA is trusted or the server's certificate is fixed; nothing is known to be wrong with the release file`,
        ),
      };
    default:
      break;
  }
  return {
    outcome: 'unreachable',
    problem: problem(
      lr,
      'download_url',
      'ARTIFACT_UNREACHABLE',
      `could not verify the package (${err.code}): ${err.message}; nothing is known to be wrong with the release file`,
    ),
  };
}

export async function checkArtifact(lr: PackageUnit, deps: CheckDeps): Promise<ArtifactResult> {
  const { download_url, sha256, size, version } = lr.release;
  const started = Date.now();
  const base = {
    file: lr.file,
    version,
    ...(lr.arch === undefined ? {} : { arch: lr.arch }),
    url: displayUrl(download_url),
    size,
    sha256,
  };
  const cached = deps.cache?.get(download_url, sha256, size);
  const hash = createHash('sha256');
  let bytes = 0;
  const done = (r: Omit<ArtifactResult, keyof typeof base | 'ms' | 'bytes'>): ArtifactResult => ({
    ...base,
    ...r,
    bytes,
    ms: Date.now() - started,
  });
  try {
    const res = await deps.http.stream(download_url, {
      maxBytes: size,
      onData: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      },
      ...(deps.onProgress ? { onProgress: (p: { bytes: number }) => deps.onProgress?.(p.bytes) } : {}),
      ...(cached?.etag !== undefined
        ? { etag: cached.etag }
        : cached?.lastModified !== undefined
          ? { lastModified: cached.lastModified }
          : {}),
    });
    if (res.status === 304) return done({ outcome: 'cached' });
    const actual = hash.digest('hex');
    const mismatch = (field: 'size' | 'sha256', code: ArtifactCode, message: string): ArtifactResult => {
      deps.cache?.delete(download_url, sha256, size);
      return done({ outcome: 'mismatch', actualSha256: actual, problem: problem(lr, field, code, message) });
    };
    if (bytes !== size) {
      return mismatch(
        'size',
        'ARTIFACT_SIZE_MISMATCH',
        `the package at ${base.url} is ${bytes} bytes (SHA-256 ${actual}), but size is ${size}: if that package is right, set size to ${bytes} and sha256 to ${actual}; if not (a truncated upload?), upload the right one`,
      );
    }
    if (actual !== sha256) {
      return mismatch(
        'sha256',
        'ARTIFACT_SHA256_MISMATCH',
        `the package at ${base.url} hashes to ${actual}, but sha256 is ${sha256}: if that package is right, set sha256 to ${actual}; if not, upload the right one`,
      );
    }
    if (res.etag !== undefined || res.lastModified !== undefined) {
      deps.cache?.set(download_url, sha256, size, {
        ...(res.etag === undefined ? {} : { etag: res.etag }),
        ...(res.lastModified === undefined ? {} : { lastModified: res.lastModified }),
        verifiedAt: (deps.now?.() ?? new Date()).toISOString(),
      });
    }
    return done({ outcome: 'verified', actualSha256: actual });
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    deps.cache?.delete(download_url, sha256, size);
    const { outcome, problem: p } = problemForHttpError(lr, err);
    return done({ outcome, problem: p, httpCode: err.code });
  }
}
