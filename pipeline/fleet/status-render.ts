/** `mngd-release status` as text (with a sparkline of adoption) and as Markdown (with a Mermaid chart). */
import type { ChannelStatus } from './status.js';

const BARS = '▁▂▃▄▅▆▇█';

/** One bar per version, newest last, height by its share of the channel's devices. */
export function sparkline(shares: readonly number[]): string {
  const max = Math.max(1, ...shares);
  return shares.map((s) => BARS[Math.min(BARS.length - 1, Math.round((s / max) * (BARS.length - 1)))]).join('');
}

function failuresText(f: ChannelStatus['versions'][number]['failures']): string {
  return f.length === 0 ? '-' : f.map((x) => `${x.kind} ${x.code} ×${x.count}`).join(', ');
}

function unsupportedText(c: ChannelStatus): string {
  return c.unsupported === 0
    ? ''
    : `; ${c.unsupported} more unsupported (their macOS runs no release at or above it: not blocked)`;
}

export function renderStatusText(status: readonly ChannelStatus[]): string {
  const lines: string[] = [];
  for (const c of status) {
    const oldestFirst = [...c.versions].reverse();
    lines.push(
      `channel ${c.channel}: ${c.activeDevices} active device(s) (seen within 7 days)  adoption ${sparkline(oldestFirst.map((v) => v.share))} (oldest → newest)`,
    );
    lines.push(
      c.floor === null
        ? '  floor: none'
        : `  floor: ${c.floor}; ${c.blocked} device(s) below it, their checkin waits for the update${unsupportedText(c)}`,
    );
    lines.push(
      '  version   devices  share   offered  installs  failures                         rollbacks  stuck  unsupported',
    );
    for (const v of c.versions) {
      lines.push(
        `  ${v.version.padEnd(9)} ${String(v.devices).padStart(7)}  ${`${v.share}%`.padStart(6)}  ${(v.offered === null ? 'no' : `${v.offered}%`).padStart(7)}  ${String(v.attempts).padStart(8)}  ${failuresText(v.failures).padEnd(32)} ${String(v.rollbacks).padStart(9)}  ${String(v.stuck).padStart(5)}  ${String(v.unsupported).padStart(11)}`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

export function renderStatusMarkdown(status: readonly ChannelStatus[]): string {
  const out: string[] = ['## Fleet status', ''];
  for (const c of status) {
    out.push(`### ${c.channel}: ${c.activeDevices} active device(s)`, '');
    out.push(
      c.floor === null ? 'No floor.' : `Floor **${c.floor}**: ${c.blocked} device(s) below it${unsupportedText(c)}.`,
      '',
    );
    const oldestFirst = [...c.versions].reverse();
    if (oldestFirst.length > 0) {
      out.push(
        '```mermaid',
        'xychart-beta',
        `  title "Devices per version (${c.channel})"`,
        `  x-axis [${oldestFirst.map((v) => `"${v.version}"`).join(', ')}]`,
        '  y-axis "devices"',
        `  bar [${oldestFirst.map((v) => v.devices).join(', ')}]`,
        '```',
        '',
      );
    }
    out.push('| version | devices | share | offered | installs | failures | rollbacks | stuck | unsupported |');
    out.push('|---|---:|---:|---:|---:|---|---:|---:|---:|');
    for (const v of c.versions)
      out.push(
        `| ${v.version} | ${v.devices} | ${v.share}% | ${v.offered === null ? 'no' : `${v.offered}%`} | ${v.attempts} | ${failuresText(v.failures)} | ${v.rollbacks} | ${v.stuck} | ${v.unsupported} |`,
      );
    out.push('');
  }
  return out.join('\n');
}
