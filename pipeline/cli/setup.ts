/**
 * What publish, apply and drift share before touching a target: the loaded releases (refusing
 * invalid ones), the signing keys (checked before anything is written) and the object store.
 */
import { ValidationError } from '../../schema/errors.js';
import type { SigningKey } from '../../schema/keys.js';
import type { Policy, Release } from '../../schema/types.js';
import type { CommandContext } from './command.js';
import { loadReleaseSet } from '../releases/index.js';
import { hasErrors } from '../releases/index.js';
import type { ReleaseSet } from '../releases/index.js';
import { reportProblems } from './report.js';
import { signingKeys } from '../manifests/index.js';
import type { ObjectStore } from '../manifests/index.js';
import { chooseTarget, clockSkewSeconds, openStore, type Target } from '../manifests/index.js';

export interface TargetFlags {
  target?: string | undefined;
  endpoint?: string | undefined;
}

export const TARGET_OPTIONS = {
  target: { type: 'string' },
  endpoint: { type: 'string' },
} as const;

export const TARGET_HELP = `  --target T       s3://bucket/prefix or a directory (default: env MNGD_PUBLISH_TARGET, then the
                   policy's publish.target, then <state>/bucket with state = MNGD_STATE_DIR or .state)
  --endpoint URL   S3-compatible endpoint (default: env MNGD_S3_ENDPOINT, then publish.endpoint)`;

export interface Loaded {
  set: ReleaseSet;
  policy: Policy;
  releases: Release[];
}

/** Loads releases/ and refuses to go on when any file is invalid (exit 1, problems printed). */
export async function loadValid(
  ctx: CommandContext,
  title: string,
  releasesDir: string | undefined,
  json: boolean,
): Promise<Loaded> {
  const set = await loadReleaseSet(ctx.cwd, { releasesDir, now: ctx.now() });
  if (hasErrors(set.problems) || set.policy === null) {
    await reportProblems(ctx, title, set.problems, { json });
    const n = set.problems.filter((p) => p.severity === 'error').length;
    throw new ValidationError(
      'RELEASES_INVALID',
      `${n} problem(s) in releases/: nothing was done; fix them ("mngd-release validate") and run again`,
    );
  }
  return { set, policy: set.policy, releases: set.releases.map((r) => r.release) };
}

export interface Publisher {
  keys: SigningKey[];
  target: Target;
  store: ObjectStore;
  /** MNGD_CLOCK_SKEW_SECONDS, read before anything is downloaded or written */
  clockSkewSeconds: number;
}

/** Keys first: a missing or untrusted key must stop the run before any store is even opened. */
export function preparePublish(ctx: CommandContext, loaded: Loaded, flags: TargetFlags): Publisher {
  const keys = signingKeys({ env: ctx.env, policy: loaded.policy, policyFile: loaded.set.policyFile });
  const clockSkew = clockSkewSeconds(ctx.env);
  const { target, store } = openTarget(ctx, loaded, flags);
  return { keys, target, store, clockSkewSeconds: clockSkew };
}

export function openTarget(
  ctx: CommandContext,
  loaded: Loaded,
  flags: TargetFlags,
): { target: Target; store: ObjectStore } {
  const target = chooseTarget({ flag: flags.target, root: loaded.set.root, env: ctx.env, policy: loaded.policy });
  const store = openStore(target, ctx.env, loaded.policy, { endpoint: flags.endpoint });
  return { target, store };
}
