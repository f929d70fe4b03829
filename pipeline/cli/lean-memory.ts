/**
 * Commands that stream large packages want a node with a small young generation: the 16 KiB TLS
 * reads of a multi-GiB download are short-lived garbage, and with the default (up to 16 MiB
 * semi-spaces) peak memory ends up ~20 MiB higher at no gain in speed (bench/verify-artifacts:
 * 112.7 MiB and 2.51 s by default, 92.5 MiB and 2.43 s with the flag). Node reads the flag only
 * at start-up, so it is in the bin's shebang (pipeline/cli.ts), as in the agent's: every command
 * runs in the one node the bin started. (It used to start itself again for these commands; a
 * `kill -9` of the first then left the second doing the work unobserved.)
 */
export const LEAN_FLAG = '--max-semi-space-size=1';
