/** The face of pipeline/drift/: what the commands and the other stages use of it. */
export * from './check.js';
export * from './finding.js';
export * from './live-halt.js';
export * from './matched.js';
export * from './report.js';
export * from './table-behind.js';
