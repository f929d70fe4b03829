/**
 * Typed errors. Every error this repository throws on purpose carries a stable `code` that
 * tests assert and machines read; the message is for people and may change.
 */
export class MngdError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The input was wrong (a release file, a manifest, a package): fix the input. Exit 1. */
export class ValidationError<Code extends string = string> extends MngdError<Code> {}

/** A command was called wrongly (flags, arguments). Exit 2. */
export class UsageError<Code extends string = 'USAGE'> extends MngdError<Code> {
  /** `code` names a particular way of being called wrongly (default USAGE); the exit is 2 either way. */
  constructor(message: string, code?: Code) {
    super(code ?? ('USAGE' as Code), message);
  }
}

/** Something outside failed (network, database, object store): retry. Exit 3. */
export class ExternalError<Code extends string = string> extends MngdError<Code> {}

/** Reduces any thrown value to a one-line message without a stack trace. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
