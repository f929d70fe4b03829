/**
 * What the three bins (mngd-release, mngd-agent, mngd-helper) say when node's parseArgs refuses
 * their flags: Node's own text suggests quoting the flag after `--`, which none of them wants.
 */
import { messageOf } from './errors.js';
import { closest } from './suggest.js';

/** One line for a parseArgs error: an unknown flag gets "did you mean" or the list of flags. */
export function flagsError(err: unknown, options: Readonly<Record<string, unknown>>): string {
  const known = Object.keys(options).map((o) => `--${o}`);
  if ((err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /^Unknown option '([^']*)'/.exec(messageOf(err))?.[1] ?? '?';
    const guess = flag.startsWith('--') ? closest(flag.split('=')[0]!, known) : null;
    return `unknown flag ${flag}${guess !== null ? `: did you mean ${guess}?` : `; the flags are ${known.join(', ')}`}`;
  }
  // Missing or unwanted values ("Option '--releases <value>' argument missing"): Node's text is clear.
  return messageOf(err);
}
