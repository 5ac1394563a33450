/**
 * Exit codes of exchange-audit and the one error type its modules throw. The CLI maps an
 * AuditError to its exit code and prints its message; anything else is a bug (exit 70).
 */

export const ExitCode = {
  /** The check passed / the query or report was produced. */
  OK: 0,
  /** The journal failed a check: broken chain or format (verify), divergence (reexecute, replay). */
  FAILED: 1,
  /** Bad command line: unknown command or option, bad value. */
  USAGE: 2,
  /** The journal cannot be opened or read (missing file, not a journal, server unreachable). */
  SOURCE: 3,
  /** The thing asked about does not exist at that point of the journal (symbol, account, order). */
  NOT_FOUND: 4,
  /** An unexpected internal error (a bug in the auditor). */
  INTERNAL: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class AuditError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The journal sequence the error is about, when there is one. */
    readonly sequence?: number,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

export const usageError = (message: string) => new AuditError(message, ExitCode.USAGE);
export const sourceError = (message: string) => new AuditError(message, ExitCode.SOURCE);
export const notFound = (message: string) => new AuditError(message, ExitCode.NOT_FOUND);
export const journalFault = (message: string, sequence?: number) => new AuditError(message, ExitCode.FAILED, sequence);
