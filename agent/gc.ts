/**
 * node's gc(), where the bin exposes it (--expose-gc in agent/cli.ts's shebang; the single
 * executable's prelude sets it the same way), and nothing elsewhere (tests, a plain `node`).
 * Read at each call: the single executable sets it after this module may have loaded.
 */
type Gc = (options?: { type?: 'minor' | 'major' }) => void;
const gcOf = (): Gc | undefined => (globalThis as { gc?: Gc }).gc;

/** A scavenge: frees the young generation's garbage, here the 16 KiB TLS chunks of a download. */
export function minorGc(): void {
  gcOf()?.({ type: 'minor' });
}

/**
 * A full collection, before `run` sleeps about an hour between checks: without it V8 keeps the
 * heap it grew to and the buffers a check left (a new release's download, a re-hash of the kept
 * package) until it next needs memory, and RSS crept up by ~0.5 MiB a minute in the soak
 * (docs/agent.md, Soak). A few milliseconds on a heap of ~15 MiB, once per check.
 */
export function fullGc(): void {
  gcOf()?.();
}
