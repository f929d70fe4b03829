/**
 * Every `mngd-release` command, in the order `--help` lists them. One file per command, loaded
 * only when it runs: `validate` need not load the AWS SDK or PGlite.
 */
import type { Command } from '../cli/command.js';

export interface CommandEntry {
  name: string;
  /** one line for the command list */
  summary: string;
  load(): Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check every release file and the policy (schema and rules across files)',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  {
    name: 'hash',
    summary: 'print the SHA-256 and size of a package, ready to paste into a release file',
    load: async () => (await import('./hash.js')).hashCommand,
  },
  {
    name: 'new',
    summary: 'write releases/<version>.yaml from a package (hashes it for you)',
    load: async () => (await import('./new.js')).newCommand,
  },
  {
    name: 'rollout',
    summary: 'set the share of devices offered a release (edits its file in place; prints the PR to open)',
    load: async () => (await import('./rollout.js')).rolloutCommand,
  },
  {
    name: 'pause',
    summary: 'stop offering a release to further devices: rollout 0 (edits its file; prints the PR)',
    load: async () => (await import('./pause.js')).pauseCommand,
  },
  {
    name: 'yank',
    summary: 'offer a release to nobody: active false (edits its file in place; prints the PR to open)',
    load: async () => (await import('./yank.js')).yankCommand,
  },
  {
    name: 'halt',
    summary: 'offer a release to nobody at once, with a reason on record (the on-call stop)',
    load: async () => (await import('./halt.js')).haltCommand,
  },
  {
    name: 'verify-artifacts',
    summary: 'download each package and prove it matches its sha256 and size',
    load: async () => (await import('./verify-artifacts.js')).verifyArtifactsCommand,
  },
  {
    name: 'init',
    summary: "start a new organisation's releases/: policy.yaml with a new signing key, and a README",
    load: async () => (await import('./init.js')).initCommand,
  },
  {
    name: 'keygen',
    summary: 'create an Ed25519 signing key for manifests',
    load: async () => (await import('./keygen.js')).keygenCommand,
  },
  {
    name: 'plan',
    summary: 'show what sync and publish would change (the table, the manifests), read-only',
    load: async () => (await import('./plan.js')).planCommand,
  },
  {
    name: 'sync',
    summary: 'make agent_releases match the release files (one transaction)',
    load: async () => (await import('./sync.js')).syncCommand,
  },
  {
    name: 'import',
    summary: 'write release files for rows of agent_releases that git does not have yet',
    load: async () => (await import('./import.js')).importCommand,
  },
  {
    name: 'publish',
    summary: "sign and publish each channel's manifest (latest.json) to S3 or a directory",
    load: async () => (await import('./publish.js')).publishCommand,
  },
  {
    name: 'apply',
    summary: 'verify artifacts, sync the table, publish the manifests (what a merge runs)',
    load: async () => (await import('./apply.js')).applyCommand,
  },
  {
    name: 'drift',
    summary: 'compare the table and every published manifest with git, and check manifest expiry',
    load: async () => (await import('./drift.js')).driftCommand,
  },
  {
    name: 'status',
    summary: 'what the fleet did with each release: devices, shares, failures, rollbacks, blocked, stuck',
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'guard',
    summary: 'halt a rollout whose failure rate or rollbacks breach the policy (the scheduled guard)',
    load: async () => (await import('./guard.js')).guardCommand,
  },
];
