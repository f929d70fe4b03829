/** The shape of a benchmark: `npm run bench [name...]` runs every bench/*.bench.ts that matches. */
export interface BenchContext {
  /** prints one line of results */
  log(line: string): void;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

/** Peak RSS of this process so far, in MiB (Linux: VmHWM). */
export async function peakRssMiB(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall back to the current RSS
  }
  return process.memoryUsage().rss / 1024 / 1024;
}

export function machine(): string {
  return `${process.platform} ${process.arch}, node ${process.version}`;
}

/** A count from the environment (a bench's size knob), or `fallback` when unset; anything but a positive whole number is refused. */
export function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name}=${raw}: expected a positive whole number`);
  return Number(raw);
}
