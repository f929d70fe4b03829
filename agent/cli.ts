#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --expose-gc
/**
 * The `mngd-agent` bin. SIGTERM/SIGINT stop `run` cleanly between steps.
 *
 * MALLOC_MMAP_THRESHOLD_ (glibc; other C libraries ignore it) pins glibc's own default: every
 * allocation of 128 KiB or more gets its own mapping, returned to the system when freed. Left
 * alone, glibc raises the threshold to the size of each mapped block freed (up to 32 MiB): after
 * the first download's 1 MiB blocks were freed, such buffers came from the heap and their freed
 * space stayed resident, so `run`'s RSS kept rising by ~0.2 MiB a minute after 20 minutes of the
 * soak while malloc's bytes in use stayed flat (docs/agent.md, Soak). The single executable
 * takes only the node flags.
 *
 * The node flags keep a 1 GiB download under 100 MB of peak RSS: it hands over thousands of
 * 16 KiB TLS chunks that are garbage right after they are copied, and V8 frees them only in a
 * scavenge. --max-semi-space-size=1 makes scavenges come sooner, and --expose-gc lets the
 * download ask for one after each 1 MiB block (agent/package-file.ts): 83-86 MiB peak, against
 * ~101 MiB without those GCs and 114-122 MiB with neither flag. bench/agent-download
 * runs with the flags and settings of this line.
 */
import { runAgentCli } from './commands.js';
import { defaultAgentContext } from './main.js';

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
// No top-level await: the single executable (npm run package) runs this file as CommonJS.
void runAgentCli(process.argv.slice(2), defaultAgentContext(stop.signal)).then((code) => {
  // Exit once stdout is flushed: idle keep-alive sockets must not delay launchd's relaunch.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
});
