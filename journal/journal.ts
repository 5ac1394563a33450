/**
 * The journal interface every backend implements, its error factory, and the two helpers
 * every backend needs on append: contiguity checking and waiting for durability.
 */
import { APPENDABLE_RECORD_VERSIONS, FIRST_SEQUENCE, JournalRecord, recordShapeFault } from './journal-record';
import type { VerifyResult } from './hash-chain';

/**
 * How far an append has travelled before its promise resolves (mapping per backend is in
 * docs/journal.md): 'fsync' survives power loss, 'os' survives a process crash, 'none'
 * survives neither for the most recent appends.
 */
export type Durability = 'fsync' | 'os' | 'none';
export const DURABILITY_LEVELS: readonly Durability[] = ['fsync', 'os', 'none'];
export const DEFAULT_DURABILITY: Durability = 'fsync';

export interface Journal {
  /** Appends records that continue the journal; resolves once durable at the configured level. */
  append(records: JournalRecord[]): Promise<void>;
  /** lastSequence of the newest durable record; 0 when the journal is empty. */
  durableSequence(): number;
  /** The record containing `sequence` and every durable record after it. */
  readFrom(sequence: number): AsyncIterable<JournalRecord>;
  /** The newest durable record. */
  tail(): Promise<JournalRecord | undefined>;
  /** Verifies the whole stored hash chain. */
  verify(): Promise<VerifyResult>;
  /** Waits for queued appends, releases the journal. Further calls fail with JOURNAL_CLOSED. */
  close(): Promise<void>;
}

/** Stable error codes; the message adds detail, the code never changes meaning. */
export const JOURNAL_ERROR_CODES = {
  JOURNAL_SEQUENCE_GAP: 'appended records do not continue the journal contiguously',
  JOURNAL_BAD_RECORD: 'an appended record is malformed or exceeds a limit',
  JOURNAL_BAD_OPTION: 'an option or argument is invalid',
  JOURNAL_BACKPRESSURE: 'too many records wait for durability; retry after earlier appends resolve',
  JOURNAL_LOCKED: 'another live writer holds this journal',
  JOURNAL_FENCED: 'another writer appended to this journal; this writer must stop',
  JOURNAL_CORRUPT: 'a stored record is undecodable or breaks the hash chain',
  JOURNAL_WRITE_FAILED: 'the storage rejected a write; the journal accepts no further appends',
  JOURNAL_CLOSED: 'the journal is closed',
} as const;
export type JournalErrorCode = keyof typeof JOURNAL_ERROR_CODES;

export class JournalError extends Error {
  readonly code: JournalErrorCode;
  /** The sequence number the error is about (first bad, first missing), when known. */
  readonly sequence: number | undefined;

  constructor(code: JournalErrorCode, message: string, sequence: number | undefined, cause: unknown) {
    super(`${code}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'JournalError';
    this.code = code;
    this.sequence = sequence;
  }
}

/** The one way journal code creates errors. */
export function journalError(
  code: JournalErrorCode,
  message: string,
  details: { sequence?: number; cause?: unknown } = {},
): JournalError {
  return new JournalError(code, message, details.sequence, details.cause);
}

export function isJournalError(error: unknown, code?: JournalErrorCode): error is JournalError {
  return error instanceof JournalError && (code === undefined || error.code === code);
}

/**
 * Throws unless records are well-formed and continue exactly at nextSequence.
 * Returns the sequence the journal continues at after them. No allocation on success.
 */
export function checkAppendable(records: readonly JournalRecord[], nextSequence: number): number {
  let expected = nextSequence;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const fault = recordShapeFault(record);
    if (fault !== undefined) throw journalError('JOURNAL_BAD_RECORD', fault, { sequence: record.firstSequence });
    if (!APPENDABLE_RECORD_VERSIONS.includes(record.version)) {
      throw journalError('JOURNAL_BAD_RECORD', `appends must use format version ${APPENDABLE_RECORD_VERSIONS.join(' or ')}, got ${record.version}`);
    }
    if (record.firstSequence !== expected) {
      throw journalError('JOURNAL_SEQUENCE_GAP', `record starts at ${record.firstSequence}, journal continues at ${expected}`, {
        sequence: expected,
      });
    }
    expected = record.lastSequence + 1;
  }
  return expected;
}

/** Throws unless sequence is a usable read position. */
export function checkReadPosition(sequence: number): void {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw journalError('JOURNAL_BAD_OPTION', `read position ${sequence} is not a non-negative safe integer`);
  }
}

export const NOTHING_DURABLE = FIRST_SEQUENCE - 1;

interface Waiter {
  lastSequence: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Append promises waiting for durability, in sequence order (appends are ordered). */
export class DurabilityWaiters {
  private waiting: Waiter[] = [];
  private head = 0;

  get size(): number {
    return this.waiting.length - this.head;
  }

  wait(lastSequence: number): Promise<void> {
    return new Promise((resolve, reject) => this.waiting.push({ lastSequence, resolve, reject }));
  }

  resolveThrough(durableSequence: number): void {
    while (this.head < this.waiting.length && this.waiting[this.head]!.lastSequence <= durableSequence) {
      this.waiting[this.head++]!.resolve();
    }
    this.compact();
  }

  rejectAll(error: Error): void {
    while (this.head < this.waiting.length) this.waiting[this.head++]!.reject(error);
    this.compact();
  }

  /** Drops settled entries once they are the majority, so the array stays bounded. */
  private compact(): void {
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head > this.waiting.length >>> 1) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }
}
