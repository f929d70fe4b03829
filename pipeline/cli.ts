#!/usr/bin/env node
import { defaultContext } from './command.js';
import { runCli } from './cli-main.js';

process.exitCode = await runCli(process.argv.slice(2), defaultContext());
