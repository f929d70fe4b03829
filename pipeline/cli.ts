#!/usr/bin/env node
import { defaultContext } from './command.js';
import { runCli } from './cli-main.js';

// A reader that goes away (`mngd-release plan | head`) is no failure of the command: keep running
// to the end (a sync or apply half done because its output was cut would be worse), just unheard.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

process.exitCode = await runCli(process.argv.slice(2), defaultContext());
