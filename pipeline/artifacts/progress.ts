/**
 * What verify-artifacts shows while it runs: on a terminal one status line rewritten in place
 * (bytes of total, rate); elsewhere (CI logs) one line per artifact as it finishes.
 */
/** Where progress lines go (a command's stderr). */
export interface Output {
  write(text: string): void;
}
import { formatProblem } from '../releases/index.js';
import { displayUrl } from '../../agent/http/index.js';
import type { PackageUnit } from './select.js';
import type { ArtifactResult } from './check.js';
import type { ArtifactReporter } from './verify.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatRate(bytes: number, ms: number): string {
  return `${formatBytes(ms > 0 ? Math.round((bytes * 1000) / ms) : bytes)}/s`;
}

const label = (r: ArtifactResult): string => (r.arch === undefined ? r.version : `${r.version} ${r.arch}`);

/** One line per finished artifact, the same on a terminal and in CI. */
export function resultLine(r: ArtifactResult): string {
  switch (r.outcome) {
    case 'verified':
      return `ok    ${r.file}  ${label(r)}  ${formatBytes(r.bytes)} verified in ${(r.ms / 1000).toFixed(1)} s (${formatRate(r.bytes, r.ms)})`;
    case 'cached':
      return `ok    ${r.file}  ${label(r)}  unchanged since verified (the server confirmed its ETag/Last-Modified; nothing downloaded)`;
    default:
      return `FAIL  ${r.problem ? formatProblem(r.problem) : `${r.file}: ${r.outcome}`}`;
  }
}

export function createReporter(
  out: Output,
  opts: { isTTY: boolean; total: number; now?: () => number },
): ArtifactReporter & { finish(): void } {
  const now = opts.now ?? Date.now;
  if (!opts.isTTY) return { done: (r) => out.write(`${resultLine(r)}\n`), finish: () => undefined };
  const started = now();
  const active = new Map<string, { lr: PackageUnit; bytes: number }>();
  let finishedBytes = 0;
  let finished = 0;
  let lastDraw = 0;
  let drawn = false;
  const totalBytes = () => [...active.values()].reduce((n, a) => n + a.lr.release.size, 0);
  const draw = (force = false) => {
    const t = now();
    if (!force && t - lastDraw < 100) return;
    lastDraw = t;
    const current = [...active.values()].reduce((n, a) => n + a.bytes, 0);
    const bytes = finishedBytes + current;
    out.write(
      `\r\x1b[K[${finished}/${opts.total}] ${formatBytes(current)} of ${formatBytes(totalBytes())} downloading (${active.size} at once), ${formatRate(bytes, t - started)}`,
    );
    drawn = true;
  };
  const clear = () => {
    if (drawn) out.write('\r\x1b[K');
    drawn = false;
  };
  return {
    start(lr) {
      active.set(displayUrl(lr.release.download_url), { lr, bytes: 0 });
      draw(true);
    },
    progress(lr, bytes) {
      const a = active.get(displayUrl(lr.release.download_url));
      if (a) a.bytes = bytes;
      draw();
    },
    done(r) {
      active.delete(r.url);
      finished++;
      finishedBytes += r.bytes;
      clear();
      out.write(`${resultLine(r)}\n`);
      if (active.size > 0) draw(true);
    },
    finish: clear,
  };
}
