/**
 * A batch of journal records already encoded (layout v1, hash fields still zero) back to back
 * in one arena, with each record's bounds and sequence columns: the unit the embedded journal
 * writes in one transaction.
 *
 * The journal thread fills one straight from the outbound ring (RecordBuilder with an encoding
 * sink), so a record is written once into the bytes SQLite stores and never exists as a
 * JournalRecord object. bench:pipeline profile before this: building, copying and collecting
 * record objects and their byte views was ~35% of the journal thread.
 *
 * Limits: ENCODED_RECORDS_MAX records and the arena's bytes. `hasRoomFor` says whether one more
 * record fits; adding one that does not is JOURNAL_BAD_RECORD (the owner writes the batch out
 * and resets it first, never grows it).
 */
import { journalError } from './journal';
import { eventCount, FIRST_SEQUENCE, HASH_BYTES, JournalRecord, MAX_EVENTS_PER_RECORD, WORDS_PER_EVENT } from './journal-record';
import { encodedRecordBytesMax, HASH_FIELD_BYTES, RecordWriter, RECORD_BYTES_MAX } from './record-codec';

/** Records per batch (one transaction's worth at most). */
export const ENCODED_RECORDS_MAX = 8192;
/** Arena bytes of a batch: room for one largest record whatever else it holds. */
export const ENCODED_RECORDS_BYTES = 8 << 20;

export class EncodedRecords {
  /** The arena; record i is bytes[bounds[2i], bounds[2i+1]). */
  readonly writer: RecordWriter;
  readonly bounds: Uint32Array;
  readonly firstSequences: Float64Array;
  readonly lastSequences: Float64Array;
  readonly timestamps: Float64Array;
  readonly maxRecords: number;
  count = 0;

  constructor(maxRecords = ENCODED_RECORDS_MAX, arenaBytes = ENCODED_RECORDS_BYTES) {
    if (!(Number.isInteger(maxRecords) && maxRecords > 0)) throw journalError('JOURNAL_BAD_OPTION', `maxRecords ${maxRecords} is not a positive integer`);
    this.maxRecords = maxRecords;
    this.writer = new RecordWriter(Math.max(arenaBytes, RECORD_BYTES_MAX));
    this.bounds = new Uint32Array(2 * maxRecords);
    this.firstSequences = new Float64Array(maxRecords);
    this.lastSequences = new Float64Array(maxRecords);
    this.timestamps = new Float64Array(maxRecords);
  }

  get bytes(): Buffer {
    return this.writer.bytes;
  }

  /** Bytes the batch holds. */
  get byteLength(): number {
    return this.writer.position;
  }

  reset(): void {
    this.count = 0;
    this.writer.reset();
  }

  /** Whether one more record of `events` events fits. */
  hasRoomFor(events: number): boolean {
    return this.count < this.maxRecords && this.writer.remaining() >= encodedRecordBytesMax(events);
  }

  /** Appends a record from words (see RecordWriter.writeFields); the events are `eventWords / WORDS_PER_EVENT`. */
  add(
    firstSequence: number, timestampMicros: number,
    command: Float64Array, commandOffset: number, events: Float64Array, eventsOffset: number, eventWords: number,
  ): void {
    const eventCount = eventWords / WORDS_PER_EVENT;
    if (!(Number.isSafeInteger(firstSequence) && firstSequence >= FIRST_SEQUENCE && Number.isSafeInteger(timestampMicros) && timestampMicros >= 0
      && Number.isInteger(eventCount) && eventCount >= 1 && eventCount <= MAX_EVENTS_PER_RECORD)) {
      throw journalError('JOURNAL_BAD_RECORD', `record at ${firstSequence}: bad sequence, timestamp ${timestampMicros} or ${eventWords} event words`);
    }
    this.checkRoom(firstSequence, eventCount);
    const lastSequence = firstSequence + eventCount - 1;
    const start = this.writer.writeFields(firstSequence, lastSequence, timestampMicros, command, commandOffset, events, eventsOffset, eventWords);
    this.push(start, firstSequence, lastSequence, timestampMicros);
  }

  /** Appends a record object in its own version's layout (sealing overwrites its hash fields). */
  addRecord(record: JournalRecord): void {
    this.checkRoom(record.firstSequence, eventCount(record));
    this.push(this.writer.writeRecord(record), record.firstSequence, record.lastSequence, record.timestampMicros);
  }

  private checkRoom(firstSequence: number, events: number): void {
    if (!this.hasRoomFor(events)) throw journalError('JOURNAL_BAD_RECORD', `record at ${firstSequence} does not fit the batch`);
  }

  /** Records the bounds and columns of the record just written from `start`. */
  private push(start: number, firstSequence: number, lastSequence: number, timestampMicros: number): void {
    const index = this.count++;
    this.bounds[2 * index] = start;
    this.bounds[2 * index + 1] = this.writer.position;
    this.firstSequences[index] = firstSequence;
    this.lastSequences[index] = lastSequence;
    this.timestamps[index] = timestampMicros;
  }

  /** Copies record i's sealed hash fields into a record object (the object path keeps its hashes current). */
  copyHashesTo(index: number, record: JournalRecord): void {
    const end = this.bounds[2 * index + 1]!;
    const bytes = this.writer.bytes;
    const previousStart = end - HASH_FIELD_BYTES - HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) {
      record.previousHash[i] = bytes[previousStart + i]!;
      record.hash[i] = bytes[end - HASH_BYTES + i]!;
    }
  }
}

/**
 * Throws JOURNAL_SEQUENCE_GAP unless the batch's records continue a journal whose next sequence is
 * `nextSequence` and each other contiguously; returns the sequence after the batch.
 */
export function checkEncodedAppendable(batch: EncodedRecords, nextSequence: number): number {
  let expected = nextSequence;
  for (let index = 0; index < batch.count; index++) {
    const first = batch.firstSequences[index]!;
    if (first !== expected) {
      throw journalError('JOURNAL_SEQUENCE_GAP', `record starts at ${first}, journal continues at ${expected}`, { sequence: expected });
    }
    expected = batch.lastSequences[index]! + 1;
  }
  return expected;
}
