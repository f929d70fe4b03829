/**
 * The exit policy of the three bins (mngd-release, mngd-agent, mngd-helper): one meaning per code,
 * and one mapping from a thrown error to a code.
 */
import { ExternalError, InternalError, MngdError, SettingsError, UsageError, ValidationError } from './errors.js';

export const EXIT = {
  OK: 0,
  /** the releases are invalid or a check failed: fix the pull request */
  INVALID: 1,
  /** the command was called wrongly, or a setting is wrong: change it (no retry helps) */
  USAGE: 2,
  /** an outside system failed: retry the job */
  EXTERNAL: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof SettingsError) return EXIT.USAGE;
  // An unknown CA or a bad certificate: a setting (trust the CA), never fixed by a re-run.
  if (err instanceof MngdError && err.code === 'HTTP_TLS') return EXIT.USAGE;
  if (err instanceof ValidationError) return EXIT.INVALID;
  if (err instanceof ExternalError || err instanceof InternalError) return EXIT.EXTERNAL;
  if (err instanceof MngdError) return EXIT.INVALID;
  return EXIT.EXTERNAL;
}

/** Only a wrong call is helped by `--help`; a wrong setting's message says what to change. */
export const wantsHelpHint = (err: unknown): boolean => err instanceof UsageError;
