/**
 * Log lines are one event each: a newline or another control character inside a message (a path,
 * installer output, text from a manifest) must not forge a line of its own or hide text from the
 * reader. Agent and helper write their `SelfUpdate:` lines through this.
 */
export function escapeControlChars(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
