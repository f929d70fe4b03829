/** The face of pipeline/artifacts/: what the commands and the other stages use of it. */
export * from './cache.js';
export * from './changed.js';
export * from './check.js';
export * from './hash-file.js';
export * from './progress.js';
export * from './select.js';
export * from './verify.js';
