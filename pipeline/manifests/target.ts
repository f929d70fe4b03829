/**
 * Where manifests are published: `s3://bucket/prefix` or a local directory. Chosen by, first to
 * last: --target, MNGD_PUBLISH_TARGET, the policy's publish.target, and the embedded default
 * <state>/bucket (state = MNGD_STATE_DIR or <repo>/.state).
 */
import { isAbsolute, resolve } from 'node:path';
import { SettingsError } from '../../schema/errors.js';
import { parseMsSetting } from '../ms-setting.js';
import { stateDir } from '../state-dir.js';
import type { Policy } from '../../schema/types.js';
import { DirectoryStore } from './store/directory-store.js';
import type { ObjectStore } from './store/object-store.js';
import { DEFAULT_S3_TIMEOUTS, S3Store, type S3StoreOptions, type S3Timeouts } from './store/s3-store.js';

export type Target =
  { kind: 's3'; bucket: string; prefix: string; text: string } | { kind: 'directory'; path: string; text: string };

// Bucket names as S3 allows them (3-63 chars, lowercase, digits, dots, hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses a target; a relative directory is taken relative to `root`. */
export function parseTarget(text: string, root: string): Target {
  const t = text.trim();
  if (t === '') throw new SettingsError('the publish target is empty: expected s3://bucket/prefix or a directory');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(t);
    if (m === null) {
      throw new SettingsError(
        `the publish target "${t}" is not supported: expected s3://bucket/prefix or a local directory`,
      );
    }
    const bucket = m[1] ?? '';
    const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (!BUCKET.test(bucket)) {
      throw new SettingsError(
        `the publish target "${t}" names an invalid bucket "${bucket}": expected 3-63 lowercase letters, digits, dots or hyphens`,
      );
    }
    if (prefix.split('/').some((p) => p === '.' || p === '..') || prefix.includes('//')) {
      throw new SettingsError(
        `the publish target "${t}" has an invalid prefix: expected path segments without "." , ".." or empty parts`,
      );
    }
    return { kind: 's3', bucket, prefix, text: t };
  }
  return { kind: 'directory', path: isAbsolute(t) ? t : resolve(root, t), text: t };
}

export interface TargetChoice {
  /** --target */
  flag?: string | undefined;
  root: string;
  env: Record<string, string | undefined>;
  policy: Pick<Policy, 'publish'> | null;
}

export function chooseTarget({ flag, root, env, policy }: TargetChoice): Target {
  const text = flag ?? nonEmpty(env['MNGD_PUBLISH_TARGET']) ?? policy?.publish?.target;
  if (text === undefined) {
    const path = resolve(stateDir(root, env), 'bucket');
    return { kind: 'directory', path, text: path };
  }
  return parseTarget(text, root);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

export interface StoreSettings {
  /** --endpoint / MNGD_S3_ENDPOINT / policy publish.endpoint */
  endpoint?: string | undefined;
}

/** Opens the store for a target. S3 settings come from the policy, overridable by flag/env. */
export function openStore(
  target: Target,
  env: Record<string, string | undefined>,
  policy: Pick<Policy, 'publish'> | null,
  settings: StoreSettings = {},
): ObjectStore {
  if (target.kind === 'directory') return new DirectoryStore(target.path);
  const publish = policy?.publish;
  const endpoint = settings.endpoint ?? nonEmpty(env['MNGD_S3_ENDPOINT']) ?? publish?.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new SettingsError(`the S3 endpoint "${endpoint}" is not a URL: expected http(s)://host[:port]`);
  }
  const opts: S3StoreOptions = { bucket: target.bucket, prefix: target.prefix };
  const region = nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']) ?? publish?.region;
  if (region !== undefined) opts.region = region;
  if (endpoint !== undefined) opts.endpoint = endpoint;
  // S3-compatible stores behind a bare host:port rarely resolve bucket subdomains.
  const pathStyle = publish?.force_path_style ?? (endpoint !== undefined ? true : undefined);
  if (pathStyle !== undefined) opts.forcePathStyle = pathStyle;
  // The injected environment wins over the process's, so a run's credentials are the ones it was given.
  const id = nonEmpty(env['AWS_ACCESS_KEY_ID']);
  const secret = nonEmpty(env['AWS_SECRET_ACCESS_KEY']);
  if (id !== undefined && secret !== undefined) {
    const token = nonEmpty(env['AWS_SESSION_TOKEN']);
    opts.credentials = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token !== undefined ? { sessionToken: token } : {}),
    };
  }
  const timeouts = storeTimeouts(env);
  if (timeouts !== null) opts.timeouts = timeouts;
  return new S3Store(opts);
}

const TIMEOUT_SETTINGS: [keyof S3Timeouts, string][] = [
  ['requestMs', 'MNGD_S3_REQUEST_TIMEOUT_MS'],
  ['deadlineMs', 'MNGD_S3_DEADLINE_MS'],
];

/** S3 time-outs from the environment (whole milliseconds ≥ 100: parseMsSetting); null when none is set (the defaults). */
export function storeTimeouts(env: Record<string, string | undefined>): S3Timeouts | null {
  if (TIMEOUT_SETTINGS.every(([, name]) => nonEmpty(env[name]) === undefined)) return null;
  const out = { ...DEFAULT_S3_TIMEOUTS };
  for (const [field, name] of TIMEOUT_SETTINGS) {
    const text = nonEmpty(env[name]);
    if (text === undefined) continue;
    out[field] = parseMsSetting(name, text, out[field]);
  }
  return out;
}
