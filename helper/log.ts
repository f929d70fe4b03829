/**
 * The helper's own log: one line per event, `<ISO time> <LEVEL> mngd-helper[<pid>]: <message>`,
 * the level in the same column and words as the agent's (INFO, WARN, ERROR), and `SelfUpdate:`
 * lines as users know them from the agent.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { escapeControlChars, type LogLevel } from '../schema/log-text.js';

export interface Logger {
  /** what happened as it should: a request, an install, a manifest followed, a health report */
  info(text: string): void;
  /** something went wrong and the helper coped: a refusal, a torn state file, a rollback */
  warn(text: string): void;
  /** the helper could not do what it must and a person should look: a rollback that failed */
  error(text: string): void;
}

/** A logger that hands every line to `write` (tests; and a logger that drops them all). */
export function callbackLogger(write: (level: LogLevel, text: string) => void): Logger {
  return {
    info: (t) => write('INFO', t),
    warn: (t) => write('WARN', t),
    error: (t) => write('ERROR', t),
  };
}

export const silentLogger: Logger = callbackLogger(() => undefined);

/** Appends to a file; falls back to stderr when the file cannot be written (logging never stops an install). */
export function fileLogger(path: string, now: () => Date = () => new Date()): Logger {
  let dirMade = false;
  return callbackLogger((level, text) => {
    // Log forgery: a path or message with a newline must not start a fake line of its own.
    const entry = `${now().toISOString()} ${level} mngd-helper[${process.pid}]: ${escapeControlChars(text)}\n`;
    try {
      if (!dirMade) {
        mkdirSync(dirname(path), { recursive: true });
        dirMade = true;
      }
      appendFileSync(path, entry, { mode: 0o644 });
    } catch {
      process.stderr.write(entry);
    }
  });
}
