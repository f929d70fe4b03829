/** The face of pipeline/manifests/: what the commands and the other stages use of it. */
export * from './build.js';
export * from './compare.js';
export * from './diff.js';
export * from './keys-in-use.js';
export * from './offer-change.js';
export * from './offer-read.js';
export * from './plan-section.js';
export * from './publish.js';
export * from './read.js';
export * from './report.js';
export * from './signing-keys.js';
export * from './store/directory-store.js';
export * from './store/object-store.js';
export * from './store/s3-store.js';
export * from './target.js';
