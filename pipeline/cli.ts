#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { defaultContext } from './cli/command.js';
import { runCli } from './cli/dispatch.js';
import { restartLean, wantsLeanRestart } from './cli/lean-memory.js';

// A reader that goes away (`mngd-release plan | head`) is no failure of the command: keep running
// to the end (a sync or apply half done because its output was cut would be worse), just unheard.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

const argv = process.argv.slice(2);
process.exitCode = wantsLeanRestart(argv, process.execArgv)
  ? await restartLean(fileURLToPath(import.meta.url), argv)
  : await runCli(argv, defaultContext());
