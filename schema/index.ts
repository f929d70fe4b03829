/** The contract as code: shared by pipeline, agent and helper. No network, no database. */
export * from './errors.js';
export * from './version.js';
export * from './canonical.js';
export * from './keys.js';
export * from './signing.js';
export * from './choose.js';
export * from './manifest.js';
export * from './types.js';
export * from './validators.js';
export { releaseSchema, CHANNEL_PATTERN, SHA256_PATTERN, MAX_RELEASE_NOTES_BYTES } from './release.schema.js';
export { policySchema } from './policy.schema.js';
export {
  manifestSchema,
  MANIFEST_TYPE,
  MANIFEST_SPEC,
  MAX_MANIFEST_RELEASES,
  MAX_MANIFEST_BYTES,
} from './manifest.schema.js';
export * from './log-text.js';
