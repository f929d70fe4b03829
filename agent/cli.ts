#!/usr/bin/env node
/** The `mngd-agent` bin. SIGTERM/SIGINT stop `run` cleanly between steps. */
import { defaultAgentContext, runAgentCli } from './main.js';

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
const code = await runAgentCli(process.argv.slice(2), defaultAgentContext(stop.signal));
// Exit once stdout is flushed: idle keep-alive sockets must not delay launchd's relaunch.
process.exitCode = code;
process.stdout.write('', () => process.exit(code));
