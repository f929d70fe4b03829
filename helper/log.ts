/** The helper's own log: one line per event, `SelfUpdate:` lines as users know them from the agent. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { escapeControlChars } from '../schema/log-text.js';

export interface Logger {
  line(text: string): void;
}

/** Appends to a file; falls back to stderr when the file cannot be written (logging never stops an install). */
export function fileLogger(path: string, now: () => Date = () => new Date()): Logger {
  let dirMade = false;
  return {
    line(text) {
      // Log forgery: a path or message with a newline must not start a fake line of its own.
      const entry = `${now().toISOString()} mngd-helper[${process.pid}]: ${escapeControlChars(text)}\n`;
      try {
        if (!dirMade) {
          mkdirSync(dirname(path), { recursive: true });
          dirMade = true;
        }
        appendFileSync(path, entry, { mode: 0o644 });
      } catch {
        process.stderr.write(entry);
      }
    },
  };
}
