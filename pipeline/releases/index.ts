/** The face of pipeline/releases/: what the commands and the other stages use of it. */
export * from './base-policy.js';
export * from './edit.js';
export * from './edit-schedule.js';
export * from './floor-reach.js';
export * from './git-ref.js';
export * from './load.js';
export * from './policy-diff.js';
export * from './policy-file.js';
export * from './problems.js';
export * from './release-file.js';
export * from './release-packages.js';
export * from './release-url.js';
export * from './release-set.js';
export * from './release-yaml.js';
export * from './rules.js';
export * from './signing-key-check.js';
export * from './yaml-source.js';
