#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The `mngd-agent` bin. SIGTERM/SIGINT stop `run` cleanly between steps.
 *
 * --max-semi-space-size=1: a download hands over thousands of 16 KiB TLS chunks that are garbage
 * right after they are copied; a small young generation frees them sooner, keeping peak RSS of
 * a 1 GiB download under 100 MiB (about +45 MiB with V8's default). bench/agent-download uses
 * the same flag.
 */
import { defaultAgentContext, runAgentCli } from './main.js';

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
const code = await runAgentCli(process.argv.slice(2), defaultAgentContext(stop.signal));
// Exit once stdout is flushed: idle keep-alive sockets must not delay launchd's relaunch.
process.exitCode = code;
process.stdout.write('', () => process.exit(code));
