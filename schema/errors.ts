/**
 * Typed errors. Every error this repository throws on purpose carries a stable `code` that
 * tests assert and machines read; the message is for people and may change. The codes are the
 * typed registry of schema/codes/, so a code nobody listed (and documented) does not compile.
 */
import type { Code as AnyCode } from './codes/index.js';

export class MngdError<Code extends AnyCode = AnyCode> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The input was wrong (a release file, a manifest, a package): fix the input. Exit 1. */
export class ValidationError<Code extends AnyCode = AnyCode> extends MngdError<Code> {}

/**
 * A command was called wrongly: an unknown command or flag, a missing argument, flags that exclude
 * each other. Exit 2, and the bins point at `--help`, which shows the right call.
 */
export class UsageError<Code extends AnyCode = 'USAGE'> extends MngdError<Code> {
  /** `code` names a particular way of being called wrongly (default USAGE); the exit is 2 either way. */
  constructor(message: string, code?: Code) {
    super(code ?? ('USAGE' as Code), message);
  }
}

/**
 * A setting has a wrong value: a flag's value, an environment variable, a config file, a folder
 * or file a setting names. Exit 2 like a usage error (a re-run cannot fix it), but `--help` would
 * not help: the message says which setting to change and to what.
 */
export class SettingsError<Code extends AnyCode = 'CONFIG_INVALID'> extends MngdError<Code> {
  constructor(message: string, code?: Code, options?: { cause?: unknown }) {
    super(code ?? ('CONFIG_INVALID' as Code), message, options);
  }
}

/** Something outside failed (network, database, object store): retry. Exit 3. */
export class ExternalError<Code extends AnyCode = AnyCode> extends MngdError<Code> {
  /** true where a re-run alone cannot help and the message names the fix (the bins then add no "re-run" hint) */
  readonly namesItsFix: boolean = false;
}

/**
 * A broken invariant: a bug in this repository, not the caller's input and not an outside system.
 * Thrown where code guards its own promises (a key that would climb out of the store, a value
 * that was checked before). Exit 3, like any failure the caller cannot fix by changing input.
 */
export class InternalError extends MngdError<'INTERNAL'> {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** Reduces any thrown value to a one-line message without a stack trace. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
