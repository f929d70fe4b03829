/**
 * TypeScript types derived from the JSON Schemas by json-schema-to-ts, so they cannot drift:
 * changing a schema changes these types, and test/schema/types.test.ts fails to compile or run
 * when the two disagree.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { shareOf } from './rollout.js';
import { artifactsOf, legacyArtifact } from './artifacts.js';
import { InternalError } from './errors.js';
import type { releaseSchema } from './release.schema.js';
import type { policySchema } from './policy.schema.js';
import type { manifestSchema } from './manifest.schema.js';
import type { reportSchema } from './report.schema.js';
import type { manifest2Schema } from './manifest2.schema.js';

type Opts = { keepDefaultedPropertiesOptional: true };

/** A release file as written (defaults not applied). */
export type ReleaseFile = FromSchema<typeof releaseSchema, Opts>;

/**
 * A release with its defaults applied (active, channel, rollout_percent always present). `active`
 * here means "offered at all": false when the file says active: false or holds `halted`, so every
 * rule that skips a yanked release (manifests, floors, the table's yanked) skips a halted one too.
 * `rollout_percent` is the share in force when the releases were read: a `rollout_schedule`'s share
 * at that time (so the spec-1 manifest, the table and the plan see the share at publish, sync and
 * plan time); the schedule itself stays in `rollout_schedule` (rolloutStepsOf reads it).
 * `download_url`, `sha256` and `size` are always present: the legacy artifact (`legacyArtifact`:
 * the universal one, else x86_64, else arm64), what the table's legacy columns carry. Only
 * `artifacts` (through `artifactsOf`) says which Macs can run the release.
 */
export type Release = Omit<ReleaseFile, 'active' | 'channel' | 'rollout_percent' | 'download_url' | 'sha256' | 'size'> &
  Required<Pick<ReleaseFile, 'active' | 'channel' | 'rollout_percent' | 'download_url' | 'sha256' | 'size'>>;

/** The policy file as written. */
export type PolicyFile = FromSchema<typeof policySchema, Opts>;

export type ManifestSettings = Required<NonNullable<PolicyFile['manifest']>>;
export type TrustedKey = PolicyFile['trusted_keys'][number];

/** The policy with its defaults applied. */
export type Policy = Omit<PolicyFile, 'manifest'> & {
  manifest: ManifestSettings;
  /**
   * Not in the file: each ring's members as manifests carry them (SHA-256(ring_salt + "/" +
   * device_id), sorted), filled in by the loader from the ring files the policy names, so every
   * step that builds a manifest from the loaded policy has them. No plain id is ever held here.
   */
  ring_members?: Readonly<Record<string, readonly string[]>>;
};

export type Manifest = FromSchema<typeof manifestSchema>;
export type SignedManifest = Manifest['signed'];
export type ManifestRelease = SignedManifest['releases'][number];

export const RELEASE_DEFAULTS = { active: true, channel: 'stable', rollout_percent: 100 } as const;
export const MANIFEST_DEFAULTS: ManifestSettings = {
  lifetime_days: 14,
  refresh_window_days: 7,
  cache_control: 'public, max-age=60',
  max_releases: 20,
};

/**
 * `now`: when the releases are read (ms since the epoch), for the share a schedule has in force then.
 * The release file must have one of the two package forms (release-file.ts checks).
 */
export function withReleaseDefaults(file: ReleaseFile, now: number): Release {
  const legacy = legacyArtifact(artifactsOf(file));
  if (legacy === null) throw new InternalError(`release ${file.version} has no package`);
  return {
    ...file,
    download_url: legacy.download_url,
    sha256: legacy.sha256,
    size: legacy.size,
    active: (file.active ?? true) && file.halted === undefined,
    channel: file.channel ?? 'stable',
    rollout_percent: shareOf(file, now),
  };
}

/** A release as read at another time `t`: a schedule's share then (Release says why it is a time's). */
export function releaseAt(r: Release, t: number): Release {
  return r.rollout_schedule === undefined ? r : { ...r, rollout_percent: shareOf(r, t) };
}

export function withPolicyDefaults(file: PolicyFile): Policy {
  return { ...file, manifest: { ...MANIFEST_DEFAULTS, ...file.manifest } };
}

/** Where a channel's manifest lives, relative to the publish target. */
export function manifestKey(channel: string): string {
  return channel === 'stable' ? 'latest.json' : `channels/${channel}/latest.json`;
}

export type Manifest2 = FromSchema<typeof manifest2Schema>;
export type SignedManifest2 = Manifest2['signed'];
export type Manifest2Release = SignedManifest2['releases'][number];
export type Manifest2Artifact = Manifest2Release['artifacts'][number];

export type Report = FromSchema<typeof reportSchema>;
export type ReportEvent = Report['events'][number];
