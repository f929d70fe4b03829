#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The `mngd-release` bin. Its node runs with a small young generation (LEAN_FLAG, in the shebang:
 * node reads it only at start-up), so a downloading command streams packages in one process: no
 * second node to re-start, and none left working unobserved when this one is killed.
 */
import { defaultContext } from './cli/command.js';
import { runCli } from './cli/dispatch.js';

// A reader that goes away (`mngd-release plan | head`) is no failure of the command: keep running
// to the end (a sync or apply half done because its output was cut would be worse), just unheard.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

const argv = process.argv.slice(2);
process.exitCode = await runCli(argv, defaultContext());
