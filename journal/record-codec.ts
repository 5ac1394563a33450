/**
 * Record codec: a journal record as one MessagePack array, version first.
 *
 *   v1: [1, firstSequence, lastSequence, timestampMicros, command, events, previousHash, hash]
 *   v0: [0, firstSequence, eventCount, timestampMicros, previousHash, command, events, hash]
 *       (the prototype layout: read-only, kept so old journals stay readable and verifiable)
 *
 * command / events are MessagePack bin holding the Float64Arrays' raw little-endian bytes;
 * hashes are bin of 32 bytes. Invariant of EVERY version: the hash is the last element, a
 * bin8 of 32 bytes, so "the encoded record without its hash field" is simply all bytes but
 * the last HASH_FIELD_BYTES (hash-chain.ts relies on this).
 *
 * Decoding goes through msgpackr (Unpackr) and dispatches on the version element. Encoding v1
 * writes the same bytes msgpackr's Packr({ useRecords: false }) produces (a property test
 * holds them equal) straight into a reused arena: measured 86 ns vs 888 ns per 2-event record
 * with Packr, which allocates the array, two views and copies twice.
 */
import { endianness } from 'node:os';
import { Packr, Unpackr } from 'msgpackr';
import {
  BYTES_PER_WORD, HASH_BYTES, JournalRecord, RECORD_FORMAT_VERSION, WORDS_PER_COMMAND, WORDS_PER_EVENT,
  MAX_EVENTS_PER_RECORD, recordShapeFault,
} from './journal-record';
import { journalError } from './journal';
import { packCommand, packEvents, PACKED_WORD_BYTES_MAX, unpackCommand, unpackEvents } from './word-pack';

// Float64Array bytes are stored as the platform holds them; the format says little-endian.
if (endianness() !== 'LE') throw new Error('record-codec: the journal format is little-endian; big-endian hosts are unsupported');

/** bin8 header (0xc4, 32) + 32 hash bytes: the trailing field of every layout. */
export const HASH_FIELD_BYTES = 2 + HASH_BYTES;
const FIELDS_PER_RECORD = 8;

/**
 * Upper bound of a record's encoded size in either writable layout: header 1, version 1,
 * 3 numbers × 9, bins with headers; a packed word (v2) takes at most PACKED_WORD_BYTES_MAX.
 */
export function encodedRecordBytesMax(events: number): number {
  const wordBytes = Math.max(BYTES_PER_WORD, PACKED_WORD_BYTES_MAX);
  return 1 + 1 + 3 * 9 + (2 + WORDS_PER_COMMAND * wordBytes) + (5 + events * WORDS_PER_EVENT * wordBytes) + 2 * HASH_FIELD_BYTES;
}
export const RECORD_BYTES_MAX = encodedRecordBytesMax(MAX_EVENTS_PER_RECORD);

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

/** Raw bytes of a Float64Array (a view, no copy). */
export function wordBytes(words: Float64Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Writes v1 records back to back into one preallocated buffer; reset per batch. */
export class RecordWriter {
  readonly bytes: Buffer;
  position = 0;
  private readonly view: DataView;

  constructor(capacityBytes: number) {
    if (!(capacityBytes >= RECORD_BYTES_MAX + HASH_BYTES)) {
      throw journalError('JOURNAL_BAD_OPTION', `writer capacity ${capacityBytes} is below one largest record`);
    }
    this.bytes = Buffer.allocUnsafe(capacityBytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  reset(): void {
    this.position = 0;
  }

  remaining(): number {
    return this.bytes.length - this.position;
  }

  writeRaw(source: Uint8Array): void {
    this.bytes.set(source, this.position);
    this.position += source.length;
  }

  /**
   * Appends a record in its own version's layout (1 or 2: a record read from an older journal
   * keeps its bytes, hence its hash), hash fields included; returns its start offset (end is
   * `position`).
   */
  writeRecord(record: JournalRecord): number {
    if (record.version !== 1 && record.version !== 2) {
      throw journalError('JOURNAL_BAD_RECORD', `cannot write record format version ${record.version}`);
    }
    const start = this.writeFields(record.firstSequence, record.lastSequence, record.timestampMicros,
      record.command, 0, record.events, 0, record.events.length, record.version);
    // writeFields left both hash fields zero: copy the record's own in.
    this.bytes.set(record.previousHash, this.position - HASH_FIELD_BYTES - HASH_BYTES);
    this.bytes.set(record.hash, this.position - HASH_BYTES);
    return start;
  }

  /**
   * Appends a record from words that live anywhere (the ring, a scratch buffer): the command's
   * WORDS_PER_COMMAND words from `commandOffset`, `eventWords` event words from `eventsOffset`,
   * and both hash fields zero (the journal seals them: chain-hasher.ts), in layout `version`
   * (default: this build's, packed words). Allocation-free. Returns the record's start offset
   * (end is `position`).
   */
  writeFields(
    firstSequence: number, lastSequence: number, timestampMicros: number,
    command: Float64Array, commandOffset: number, events: Float64Array, eventsOffset: number, eventWords: number,
    version: 1 | 2 = RECORD_FORMAT_VERSION,
  ): number {
    const start = this.position;
    if (this.remaining() < encodedRecordBytesMax(eventWords / WORDS_PER_EVENT)) {
      throw journalError('JOURNAL_BAD_RECORD', `record at ${firstSequence} does not fit the writer`);
    }
    this.bytes[this.position++] = 0x90 | FIELDS_PER_RECORD; // fixarray
    this.bytes[this.position++] = version; // positive fixint
    this.writeUnsigned(firstSequence);
    this.writeUnsigned(lastSequence);
    this.writeUnsigned(timestampMicros);
    if (version === 1) {
      this.writeWords(command, commandOffset, WORDS_PER_COMMAND);
      this.writeWords(events, eventsOffset, eventWords);
    } else {
      this.writePackedCommand(command, commandOffset, timestampMicros);
      this.writePackedEvents(events, eventsOffset, eventWords / WORDS_PER_EVENT, firstSequence, timestampMicros, command[commandOffset + 2]!);
    }
    this.writeZeroHash();
    this.writeZeroHash();
    return start;
  }

  /** A bin of `count` float64 words as their raw bytes (layout v1: old records keep their exact bytes, NaN payloads too). */
  private writeWords(words: Float64Array, offset: number, count: number): void {
    this.writeBinHeader(count * BYTES_PER_WORD);
    this.writeRaw(new Uint8Array(words.buffer, words.byteOffset + offset * BYTES_PER_WORD, count * BYTES_PER_WORD));
  }

  /** A bin of the packed command (layout v2); at most 16 × 9 bytes, so always a bin8. */
  private writePackedCommand(command: Float64Array, offset: number, timestampMicros: number): void {
    const payload = this.position + 2;
    const end = packCommand(this.bytes, payload, command, offset, timestampMicros);
    this.bytes[this.position] = 0xc4;
    this.bytes[this.position + 1] = end - payload;
    this.position = end;
  }

  /**
   * A bin of the packed events (layout v2). Packed after a bin8 header's room; a payload of 256
   * bytes or more (a long sweep) is moved up to make room for the bin16/bin32 header msgpack
   * requires for its length.
   */
  private writePackedEvents(events: Float64Array, offset: number, count: number, firstSequence: number, timestampMicros: number, origin: number): void {
    const header = this.position;
    const payload = header + 2;
    const end = packEvents(this.bytes, payload, events, offset, count, firstSequence, timestampMicros, origin);
    const length = end - payload;
    if (length < 0x100) {
      this.bytes[header] = 0xc4;
      this.bytes[header + 1] = length;
      this.position = end;
      return;
    }
    const headerBytes = length < 0x10000 ? 3 : 5;
    this.bytes.copyWithin(header + headerBytes, payload, end);
    this.position = header;
    this.writeBinHeader(length);
    this.position = header + headerBytes + length;
  }

  private writeZeroHash(): void {
    const bytes = this.bytes;
    let position = this.position;
    bytes[position++] = 0xc4;
    bytes[position++] = HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) bytes[position++] = 0; // a loop: Buffer.fill's argument checks cost more for 32 bytes
    this.position = position;
  }

  /** Same choice of encoding as msgpackr: smallest unsigned int up to 32 bits, float64 above. */
  private writeUnsigned(value: number): void {
    if (value < 0x80) {
      this.bytes[this.position++] = value;
    } else if (value < 0x100) {
      this.bytes[this.position++] = 0xcc;
      this.bytes[this.position++] = value;
    } else if (value < 0x10000) {
      this.bytes[this.position++] = 0xcd;
      this.view.setUint16(this.position, value);
      this.position += 2;
    } else if (value < 0x100000000) {
      this.bytes[this.position++] = 0xce;
      this.view.setUint32(this.position, value);
      this.position += 4;
    } else {
      this.bytes[this.position++] = 0xcb;
      this.view.setFloat64(this.position, value);
      this.position += 8;
    }
  }

  private writeBinHeader(length: number): void {
    if (length < 0x100) {
      this.bytes[this.position++] = 0xc4;
      this.bytes[this.position++] = length;
    } else if (length < 0x10000) {
      this.bytes[this.position++] = 0xc5;
      this.view.setUint16(this.position, length);
      this.position += 2;
    } else {
      this.bytes[this.position++] = 0xc6;
      this.view.setUint32(this.position, length);
      this.position += 4;
    }
  }
}

let scratchWriter: RecordWriter | undefined;

/** Encodes a record in its own version's layout into a fresh buffer (cold path: tests, verify, archive). */
export function encodeRecord(record: JournalRecord): Uint8Array {
  const fault = recordShapeFault(record);
  if (fault !== undefined) throw journalError('JOURNAL_BAD_RECORD', fault, { sequence: record.firstSequence });
  if (record.version === 0) return encodeVersion0(record);
  if (record.version !== 1 && record.version !== 2) {
    throw journalError('JOURNAL_BAD_RECORD', `cannot encode record format version ${record.version}`);
  }
  scratchWriter ??= new RecordWriter(RECORD_BYTES_MAX + HASH_BYTES);
  scratchWriter.reset();
  scratchWriter.writeRecord(record);
  return new Uint8Array(scratchWriter.bytes.subarray(0, scratchWriter.position)); // a copy: the scratch is reused
}

/** Reference encoder for v1 and v2 through msgpackr itself; the property test holds RecordWriter to it. */
export function encodeRecordWithPackr(record: JournalRecord): Uint8Array {
  let command = wordBytes(record.command);
  let events = wordBytes(record.events);
  if (record.version === 2) {
    const scratch = new Uint8Array(encodedRecordBytesMax(record.events.length / WORDS_PER_EVENT));
    const commandEnd = packCommand(scratch, 0, record.command, 0, record.timestampMicros);
    command = scratch.slice(0, commandEnd);
    const eventsEnd = packEvents(scratch, 0, record.events, 0, record.events.length / WORDS_PER_EVENT,
      record.firstSequence, record.timestampMicros, record.command[2]!);
    events = scratch.slice(0, eventsEnd);
  }
  return packr.pack([
    record.version, record.firstSequence, record.lastSequence, record.timestampMicros,
    command, events, record.previousHash, record.hash,
  ]);
}

function encodeVersion0(record: JournalRecord): Uint8Array {
  const events = record.lastSequence - record.firstSequence + 1;
  return packr.pack([
    0, record.firstSequence, events, record.timestampMicros,
    record.previousHash, wordBytes(record.command), wordBytes(record.events), record.hash,
  ]);
}

/** Decodes any supported version. Throws JOURNAL_CORRUPT (no sequence: the caller knows it). */
export function decodeRecord(bytes: Uint8Array): JournalRecord {
  let fields: unknown;
  try {
    fields = unpackr.unpack(bytes);
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', `undecodable record: ${(error as Error).message}`);
  }
  if (!Array.isArray(fields) || fields.length !== FIELDS_PER_RECORD) {
    throw journalError('JOURNAL_CORRUPT', 'record is not an array of 8 fields');
  }
  const record = fields[0] === 2 ? decodeVersion2(fields)
    : fields[0] === 1 ? decodeVersion1(fields) : fields[0] === 0 ? decodeVersion0(fields) : undefined;
  if (record === undefined) throw journalError('JOURNAL_CORRUPT', `unknown record format version ${String(fields[0])}`);
  const fault = recordShapeFault(record);
  if (fault !== undefined) throw journalError('JOURNAL_CORRUPT', fault, { sequence: record.firstSequence });
  return record;
}

function decodeVersion2(fields: unknown[]): JournalRecord {
  const firstSequence = numberField(fields[1]);
  const lastSequence = numberField(fields[2]);
  const timestampMicros = numberField(fields[3]);
  const count = lastSequence - firstSequence + 1;
  if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_EVENTS_PER_RECORD)) {
    throw journalError('JOURNAL_CORRUPT', `record ${firstSequence}..${lastSequence} has no valid event count`);
  }
  const packedCommand = packedField(fields[4]);
  const packedEvents = packedField(fields[5]);
  const command = new Float64Array(WORDS_PER_COMMAND);
  if (unpackCommand(packedCommand, 0, packedCommand.length, command, 0, timestampMicros) !== packedCommand.length) {
    throw journalError('JOURNAL_CORRUPT', 'packed command words are malformed, not canonical or not 16 words');
  }
  const events = new Float64Array(count * WORDS_PER_EVENT);
  if (unpackEvents(packedEvents, 0, packedEvents.length, events, 0, count, firstSequence, timestampMicros, command[2]!) !== packedEvents.length) {
    throw journalError('JOURNAL_CORRUPT', `packed event words are malformed, not canonical or not ${count} events`);
  }
  return { version: 2, firstSequence, lastSequence, timestampMicros, command, events, previousHash: hashField(fields[6]), hash: hashField(fields[7]) };
}

function packedField(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw journalError('JOURNAL_CORRUPT', 'expected a bin of packed words');
  return value;
}

function decodeVersion1(fields: unknown[]): JournalRecord {
  return {
    version: 1,
    firstSequence: numberField(fields[1]),
    lastSequence: numberField(fields[2]),
    timestampMicros: numberField(fields[3]),
    command: wordsField(fields[4]),
    events: wordsField(fields[5]),
    previousHash: hashField(fields[6]),
    hash: hashField(fields[7]),
  };
}

function decodeVersion0(fields: unknown[]): JournalRecord {
  const firstSequence = numberField(fields[1]);
  return {
    version: 0,
    firstSequence,
    lastSequence: firstSequence + numberField(fields[2]) - 1,
    timestampMicros: numberField(fields[3]),
    previousHash: hashField(fields[4]),
    command: wordsField(fields[5]),
    events: wordsField(fields[6]),
    hash: hashField(fields[7]),
  };
}

function numberField(value: unknown): number {
  if (typeof value !== 'number') throw journalError('JOURNAL_CORRUPT', `expected a number, found ${typeof value}`);
  return value;
}

/** Copies bin bytes into a fresh, aligned Float64Array (the source view is unaligned). */
function wordsField(value: unknown): Float64Array {
  if (!(value instanceof Uint8Array) || value.length % BYTES_PER_WORD !== 0) {
    throw journalError('JOURNAL_CORRUPT', 'expected a bin of whole float64 words');
  }
  const words = new Float64Array(value.length / BYTES_PER_WORD);
  wordBytes(words).set(value);
  return words;
}

function hashField(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== HASH_BYTES) {
    throw journalError('JOURNAL_CORRUPT', `expected a bin of ${HASH_BYTES} bytes`);
  }
  return new Uint8Array(value); // a copy: the decoded bin is a view into the source
}
