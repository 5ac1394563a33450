/**
 * One journal record: a command and the events it caused, sealed into the hash chain.
 *
 * The matcher emits one record per command. Every event carries one global sequence
 * number, so a record with n events covers exactly [firstSequence, firstSequence + n - 1].
 * Records are contiguous: record k+1 starts at record k's lastSequence + 1, the first at 1.
 */

/**
 * Layout version written by this build: 2, packed words (journal/word-pack.ts). Version 1 (raw
 * float64 words) is still written for records read from an older journal, so they keep their
 * bytes and hashes (a standby mirroring an old leader); version 0 is read-only (record-codec.ts).
 */
export const RECORD_FORMAT_VERSION = 2;
/** Versions a journal appends. */
export const APPENDABLE_RECORD_VERSIONS: readonly number[] = [1, 2];

/** Float64 words per command / event record. Fixed by format version 1 (equal to core/schema's). */
export const WORDS_PER_COMMAND = 16;
export const WORDS_PER_EVENT = 16;
export const BYTES_PER_WORD = 8;

/** SHA-256 digest length. */
export const HASH_BYTES = 32;

/**
 * Most events one command may cause (a sweep of many price levels, a mass cancel).
 * Bounded so that one record (4096 × 128 B = 512 KiB of events) always fits inside one
 * EventStoreDB append (default server limit 1 MiB) and inside the sqlite write arena.
 */
export const MAX_EVENTS_PER_RECORD = 4096;

/** First sequence number of every journal. 0 means "nothing yet". */
export const FIRST_SEQUENCE = 1;

export interface JournalRecord {
  version: number;
  firstSequence: number;
  lastSequence: number;
  /** Timestamp of the command, integer microseconds (time enters only inside commands). */
  timestampMicros: number;
  /** WORDS_PER_COMMAND words. */
  command: Float64Array;
  /** WORDS_PER_EVENT words per event, lastSequence - firstSequence + 1 events. */
  events: Float64Array;
  /** Hash of the record before this one (32 zero bytes for the first record). Filled by the journal. */
  previousHash: Uint8Array;
  /** SHA-256 over previousHash || encoded record without its hash field. Filled by the journal. */
  hash: Uint8Array;
}

/** Number of events a record covers. */
export function eventCount(record: JournalRecord): number {
  return record.lastSequence - record.firstSequence + 1;
}

/** Builds a record with fresh hash buffers; the journal fills them on append. */
export function createRecord(
  firstSequence: number,
  timestampMicros: number,
  command: Float64Array,
  events: Float64Array,
): JournalRecord {
  const count = events.length / WORDS_PER_EVENT;
  return {
    version: RECORD_FORMAT_VERSION,
    firstSequence,
    lastSequence: firstSequence + count - 1,
    timestampMicros,
    command,
    events,
    previousHash: new Uint8Array(HASH_BYTES),
    hash: new Uint8Array(HASH_BYTES),
  };
}

/**
 * Why a record is malformed, or undefined if its shape is valid for its version.
 * Pure and allocation-free on success: it runs on every appended record.
 */
export function recordShapeFault(record: JournalRecord): string | undefined {
  if (!Number.isSafeInteger(record.firstSequence) || record.firstSequence < FIRST_SEQUENCE) {
    return `firstSequence ${record.firstSequence} is not a positive safe integer`;
  }
  if (!Number.isSafeInteger(record.lastSequence) || record.lastSequence < record.firstSequence) {
    return `lastSequence ${record.lastSequence} is before firstSequence ${record.firstSequence}`;
  }
  const events = eventCount(record);
  if (events > MAX_EVENTS_PER_RECORD) return `${events} events exceed MAX_EVENTS_PER_RECORD ${MAX_EVENTS_PER_RECORD}`;
  if (!Number.isSafeInteger(record.timestampMicros) || record.timestampMicros < 0) {
    return `timestampMicros ${record.timestampMicros} is not a non-negative safe integer`;
  }
  if (!(record.command instanceof Float64Array) || record.command.length !== WORDS_PER_COMMAND) {
    return `command must be a Float64Array of ${WORDS_PER_COMMAND} words`;
  }
  if (!(record.events instanceof Float64Array) || record.events.length !== events * WORDS_PER_EVENT) {
    return `events must be a Float64Array of ${events} × ${WORDS_PER_EVENT} words`;
  }
  if (!(record.previousHash instanceof Uint8Array) || record.previousHash.length !== HASH_BYTES) {
    return `previousHash must be ${HASH_BYTES} bytes`;
  }
  if (!(record.hash instanceof Uint8Array) || record.hash.length !== HASH_BYTES) return `hash must be ${HASH_BYTES} bytes`;
  return undefined;
}
