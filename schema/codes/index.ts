/**
 * Every code a Problem, a drift finding or an MngdError can carry, in one typed registry. The
 * types are the registry's keys, so a code used anywhere must be listed here with its meaning;
 * docs/codes.md is generated from it (schema/codes/markdown.ts, `npm run codes`).
 */
import { AGENT_CODES, HEALTH_CODES, HELPER_CODES, VERIFY_CODES } from './devices.js';
import {
  ARTIFACT_CODES,
  DRIFT_CODES,
  EDIT_CODES,
  FLEET_CODES,
  MANIFEST_CODES,
  RELEASE_CODES,
  TABLE_CODES,
  type ReleaseBadFieldCode,
} from './pipeline.js';

/** How a bin was called or set up, in all three bins. Exit 2, or 3 for INTERNAL. */
export const COMMON_CODES = {
  USAGE: 'called wrongly: an unknown command or flag, a missing argument (exit 2; the message points at --help)',
  CONFIG_INVALID: "a setting is wrong: a flag's value, an environment variable, a config file (exit 2)",
  INTERNAL: 'a broken invariant: a bug (exit 3); a torn helper state file is STATE_TORN, not this',
} as const;

type Keys<T> = Exclude<keyof T, `${string}<${string}`>;

export type CommonCode = Keys<typeof COMMON_CODES>;
export type ReleaseProblemCode = Keys<typeof RELEASE_CODES> | ReleaseBadFieldCode;
export type TableCode = Keys<typeof TABLE_CODES>;
export type ArtifactCode = Keys<typeof ARTIFACT_CODES>;
export type ManifestCode = Keys<typeof MANIFEST_CODES>;
export type DriftFindingCode = Keys<typeof DRIFT_CODES> | 'MANIFEST_EXPIRED';
export type FleetCode = Keys<typeof FLEET_CODES>;
export type EditCode = Keys<typeof EDIT_CODES>;
export type VerifyCode = Keys<typeof VERIFY_CODES>;
export type AgentCode = Keys<typeof AGENT_CODES>;
export type HelperCode = Keys<typeof HELPER_CODES>;
export type HealthCode = Keys<typeof HEALTH_CODES>;

/** Every code of mngd-release. */
export type PipelineCode =
  ReleaseProblemCode | TableCode | ArtifactCode | ManifestCode | DriftFindingCode | FleetCode | EditCode;
/** What a Problem (a line of releases/, a row of the table, a drift finding) can say. */
export type ProblemCode = ReleaseProblemCode | TableCode | ArtifactCode | DriftFindingCode;
/** Every code any part of the repository reports. */
export type Code = CommonCode | PipelineCode | VerifyCode | AgentCode | HelperCode | HealthCode;

export interface CodePart {
  title: string;
  /** what these codes are and how they exit, one sentence */
  intro: string;
  codes: Readonly<Record<string, string>>;
}

/** The registry in the order docs/codes.md lists it. */
export const CODE_PARTS: readonly CodePart[] = [
  {
    title: 'Every bin',
    intro: 'How a bin was called or set up (schema/exit.ts).',
    codes: COMMON_CODES,
  },
  {
    title: 'Release files (`mngd-release validate`)',
    intro: 'Problems at a line of releases/; any error exits 1.',
    codes: RELEASE_CODES,
  },
  {
    title: 'Editing releases (`yank`, `halt`, `pause`, `rollout`)',
    intro: 'A release file changed in place; exit 1 unless named otherwise.',
    codes: EDIT_CODES,
  },
  {
    title: 'The table (`plan`, `sync`, `import`)',
    intro: 'What sync refuses (exit 1, nothing written), what plan warns about, and the database.',
    codes: TABLE_CODES,
  },
  {
    title: 'Packages (`verify-artifacts`)',
    intro: 'Exit 1 when a package does not match, 3 when its server failed.',
    codes: ARTIFACT_CODES,
  },
  { title: 'Manifests (`publish`)', intro: 'Signing and writing the manifests.', codes: MANIFEST_CODES },
  {
    title: 'Drift (`drift`)',
    intro: 'Findings of the scheduled comparison; an error finding exits 1 (also MANIFEST_EXPIRED).',
    codes: DRIFT_CODES,
  },
  { title: 'Fleet reports (`status`, the ingest)', intro: 'A report refused exits 1.', codes: FLEET_CODES },
  {
    title: 'Manifest verification (agent, helper, publish)',
    intro: 'Each check of schema/manifest.ts; the agent logs it and does not update (check exits 1).',
    codes: VERIFY_CODES,
  },
  {
    title: 'The agent (`mngd-agent`)',
    intro: 'The `code` of a failed check; network and helper codes exit 3, the rest 1.',
    codes: AGENT_CODES,
  },
  {
    title: 'The helper (`mngd-helper`)',
    intro: "The `error.code` of the helper's reply (docs/helper.md), and what stops serve at start.",
    codes: HELPER_CODES,
  },
  {
    title: 'The health gate (helper → agent → fleet report)',
    intro: 'The `code` of a `rollback` event (docs/helper.md); the report stores it, `guard` counts it.',
    codes: HEALTH_CODES,
  },
];
