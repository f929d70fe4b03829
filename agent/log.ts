/**
 * The agent's log: one line per event, `<ISO time> <LEVEL> <message>`, appended to the log file
 * (the place the on-call runbook points at) and mirrored to stderr. Self-update lines start with
 * `SelfUpdate:` so `grep SelfUpdate: mngd.log` tells the whole story.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { escapeControlChars, type LogLevel } from '../schema/log-text.js';

export type Level = LogLevel;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface LogLine {
  level: Level;
  message: string;
}

/** Keeps lines in memory: for tests and for `check --json`. */
export class MemoryLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(message: string): void {
    this.lines.push({ level: 'INFO', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'WARN', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'ERROR', message });
  }
  /** the messages of one level */
  of(level: Level): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/** Sends each line to several loggers. */
export function teeLogger(...targets: Logger[]): Logger {
  return {
    info: (m) => targets.forEach((t) => t.info(m)),
    warn: (m) => targets.forEach((t) => t.warn(m)),
    error: (m) => targets.forEach((t) => t.error(m)),
  };
}

export interface FileLoggerOptions {
  file: string;
  /** also written here (launchd captures stderr); default none */
  mirror?: { write(text: string): void };
  now?: () => Date;
}

/** Newlines become " | " (installer output stays readable); every other control character \xNN. */
export function escapeControl(message: string): string {
  return escapeControlChars(message.replace(/\r?\n/g, ' | '));
}

/**
 * Appends to `file`, creating its folder. A log that cannot be written must never stop an
 * update (the agent can't brick over a full disk), so write errors go to the mirror only.
 */
export function fileLogger({ file, mirror, now = () => new Date() }: FileLoggerOptions): Logger {
  let dirReady = false;
  let reported = false;
  const write = (level: Level, message: string) => {
    // One event, one line: a newline inside a message (installer output) would forge lines, and
    // other control characters (a lone \r, terminal escapes) could hide text from a reader.
    const line = `${now().toISOString()} ${level} ${escapeControl(message)}\n`;
    mirror?.write(line);
    try {
      if (!dirReady) {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        dirReady = true;
      }
      appendFileSync(file, line, { mode: 0o600 });
    } catch (err) {
      if (!reported)
        mirror?.write(`${now().toISOString()} WARN cannot write the log file ${file}: ${(err as Error).message}\n`);
      reported = true;
    }
  };
  return {
    info: (m) => write('INFO', m),
    warn: (m) => write('WARN', m),
    error: (m) => write('ERROR', m),
  };
}
