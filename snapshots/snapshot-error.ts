/**
 * The one error type of the snapshot layer: a stable code plus a message, and the
 * sequence number it is about when there is one (a snapshot's S, a journal record).
 */
export const SNAPSHOT_ERROR_CODES = {
  SNAPSHOT_CORRUPT: 'a stored snapshot fails its checksum or does not decode',
  SNAPSHOT_VERSION: 'a snapshot was written in a format version this build cannot read',
  SNAPSHOT_NOT_FOUND: 'no snapshot is stored at that sequence',
  SNAPSHOT_BAD_OPTION: 'an option or argument is invalid',
  SNAPSHOT_BUSY: 'too many snapshots are already being written',
  SNAPSHOT_WRITER_CLOSED: 'the snapshot writer is closed or its worker died',
  SNAPSHOT_NO_CHAIN_HASH: 'the chain hash promised for a requested snapshot never arrived (the journal failed)',
  RECOVERY_JOURNAL_CORRUPT: 'a journal record read during recovery is undecodable or breaks the hash chain',
  RECOVERY_DIVERGED: 'a re-executed command produced events that differ from the journaled ones',
  RECOVERY_CONFIG: 'the recovery options contradict the stored state (risk layer on/off, limits)',
} as const;
export type SnapshotErrorCode = keyof typeof SNAPSHOT_ERROR_CODES;

export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;
  readonly sequence: number | undefined;

  constructor(code: SnapshotErrorCode, message: string, sequence?: number, cause?: unknown) {
    super(`${code}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'SnapshotError';
    this.code = code;
    this.sequence = sequence;
  }
}

export function isSnapshotError(error: unknown, code?: SnapshotErrorCode): error is SnapshotError {
  return error instanceof SnapshotError && (code === undefined || error.code === code);
}
