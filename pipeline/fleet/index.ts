/** The face of pipeline/fleet/: what the commands and the other stages use of it. */
export * from './active.js';
export * from './guard-render.js';
export * from './guard.js';
export * from './ingest.js';
export * from './plan-impact.js';
export * from './status-render.js';
export * from './status.js';
