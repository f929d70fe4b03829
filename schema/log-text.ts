/**
 * Log lines are one event each: a newline or another control character inside a message (a path,
 * installer output, text from a manifest, a server's header) must not forge a line of its own or
 * hide text from the reader. Agent and helper write their `SelfUpdate:` lines through this.
 *
 * Escaped: C0 controls and DEL (U+0000–U+001F, U+007F); C1 controls (U+0080–U+009F: NEL ends a
 * line for some readers, CSI starts a terminal escape); the line and paragraph separators
 * U+2028/U+2029 (line breaks to JavaScript and many viewers); and the bidirectional controls
 * (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which reorder what a reader sees.
 */
/** The level of a log line, the same words in the agent's log and the helper's. */
export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeControlChars(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
