/**
 * Where the fields of a stored record body lie, found without a msgpack decoder: the fast path
 * of every reader that works on stored bytes (replay pages, the auditor, the gateway's journal
 * scan). It accepts exactly the canonical bytes the journal's RecordWriter writes for layouts
 * v1 and v2 (what msgpackr would write too: smallest integer forms, bin8/16/32 by length, exact
 * total length) and reports anything else, which the caller hands to decodeRecord (v0 bodies,
 * foreign but valid msgpack) or reports as malformed.
 *
 *   [version, firstSequence, lastSequence, timestampMicros, command bin, events bin, previousHash bin8, hash bin8]
 *   v1: command = 16 raw float64 words, events = 16 per event
 *   v2: command / events = packed words (journal/word-pack.ts); parse checks their word counts by
 *       tag, readRecordWords decodes them (and refuses a non-canonical word)
 */
import {
  BYTES_PER_WORD, HASH_BYTES, MAX_EVENTS_PER_RECORD, WORDS_PER_COMMAND, WORDS_PER_EVENT,
} from './journal-record';
import { packedWordCount, unpackCommand, unpackEvents } from './word-pack';

const COMMAND_BYTES = WORDS_PER_COMMAND * BYTES_PER_WORD;
const EVENT_BYTES = WORDS_PER_EVENT * BYTES_PER_WORD;
const TWO_POW_32 = 2 ** 32;
/** msgpack fixarray of 8 elements. */
const ARRAY_OF_8 = 0x98;

/** Offsets of a canonical body's fields (filled by parseRecordLayout, no allocation). */
export interface RecordLayout {
  version: number;
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  eventCount: number;
  commandOffset: number;
  commandLength: number;
  eventsOffset: number;
  eventsLength: number;
  previousHashOffset: number;
  hashOffset: number;
}

export function newRecordLayout(): RecordLayout {
  return {
    version: 0, firstSequence: 0, lastSequence: 0, timestampMicros: 0, eventCount: 0,
    commandOffset: 0, commandLength: 0, eventsOffset: 0, eventsLength: 0, previousHashOffset: 0, hashOffset: 0,
  };
}

let cursor = 0;
/** Where the bytes being parsed end (readUnsigned, readBinHeader look no further). */
let limit = 0;

const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const float64Scratch = new DataView(new ArrayBuffer(8));

/** Reads a canonical msgpack unsigned integer at `cursor`; NaN if absent or not canonical. */
function readUnsigned(body: Uint8Array): number {
  const at = cursor;
  if (at >= limit) return Number.NaN;
  const tag = body[at]!;
  if (tag < 0x80) {
    cursor = at + 1;
    return tag;
  }
  let value: number;
  let min: number;
  switch (tag) {
    case 0xcc: if (at + 2 > limit) return Number.NaN; value = body[at + 1]!; min = 0x80; cursor = at + 2; break;
    case 0xcd: if (at + 3 > limit) return Number.NaN; value = be16(body, at + 1); min = 0x100; cursor = at + 3; break;
    case 0xce: if (at + 5 > limit) return Number.NaN; value = be32(body, at + 1); min = 0x10000; cursor = at + 5; break;
    case 0xcb:
      if (at + 9 > limit) return Number.NaN;
      for (let i = 0; i < 8; i++) float64Scratch.setUint8(i, body[at + 1 + i]!);
      value = float64Scratch.getFloat64(0);
      min = TWO_POW_32;
      cursor = at + 9;
      if (!Number.isSafeInteger(value)) return Number.NaN;
      break;
    default: return Number.NaN;
  }
  return value >= min ? value : Number.NaN;
}

/** Reads a canonical bin header at `cursor`; returns its length (cursor at the payload) or -1. */
function readBinHeader(body: Uint8Array): number {
  const at = cursor;
  if (at + 2 > limit) return -1;
  const tag = body[at]!;
  let length: number;
  if (tag === 0xc4) {
    length = body[at + 1]!;
    cursor = at + 2;
  } else if (tag === 0xc5) {
    if (at + 3 > limit) return -1;
    length = be16(body, at + 1);
    if (length < 0x100) return -1;
    cursor = at + 3;
  } else if (tag === 0xc6) {
    if (at + 5 > limit) return -1;
    length = be32(body, at + 1);
    if (length < 0x10000) return -1;
    cursor = at + 5;
  } else {
    return -1;
  }
  if (cursor + length > limit) return -1;
  return length;
}

/**
 * Parses a canonical v1 or v2 body into `layout` (no allocation). Returns undefined on success,
 * else why it is not one (the caller decides whether another decoder should try).
 * `countWords` false skips counting a v2 body's packed words by their tags, for a caller that
 * decodes them next anyway (readRecordWords then reports a wrong count: ~13 ns per event saved).
 */
export function parseRecordLayout(body: Uint8Array, layout: RecordLayout, countWords = true): string | undefined {
  if (body.length < 2 || body[0] !== ARRAY_OF_8) return 'not an array of 8 fields';
  const version = body[1]!;
  if (version !== 1 && version !== 2) return `record format version ${version} is not 1 or 2`;
  cursor = 2;
  limit = body.length;
  const first = readUnsigned(body);
  const last = readUnsigned(body);
  const timestamp = readUnsigned(body);
  if (Number.isNaN(first) || Number.isNaN(last) || Number.isNaN(timestamp)) return 'sequence or timestamp field is not a canonical unsigned integer';
  if (first < 1) return `firstSequence ${first} is not positive`;
  if (last < first) return `lastSequence ${last} is before firstSequence ${first}`;
  const count = last - first + 1;
  if (count > MAX_EVENTS_PER_RECORD) return `${count} events exceed MAX_EVENTS_PER_RECORD ${MAX_EVENTS_PER_RECORD}`;
  const commandLength = readBinHeader(body);
  const commandOffset = cursor;
  if (version === 1 ? commandLength !== COMMAND_BYTES
    : commandLength < 0 || (countWords && packedWordCount(body, commandOffset, commandOffset + commandLength) !== WORDS_PER_COMMAND)) {
    return `command is not a bin of ${WORDS_PER_COMMAND} ${version === 1 ? 'raw' : 'packed'} words`;
  }
  cursor += commandLength;
  const eventsLength = readBinHeader(body);
  const eventsOffset = cursor;
  if (version === 1 ? eventsLength !== count * EVENT_BYTES
    : eventsLength < 0 || (countWords && packedWordCount(body, eventsOffset, eventsOffset + eventsLength) !== count * WORDS_PER_EVENT)) {
    return `events are not a bin of ${count} × ${WORDS_PER_EVENT} ${version === 1 ? 'raw' : 'packed'} words`;
  }
  cursor += eventsLength;
  if (readBinHeader(body) !== HASH_BYTES) return `previousHash is not a bin of ${HASH_BYTES} bytes`;
  const previousHashOffset = cursor;
  cursor += HASH_BYTES;
  if (body[cursor] !== 0xc4 || body[cursor + 1] !== HASH_BYTES) return `hash is not a bin8 of ${HASH_BYTES} bytes`;
  const hashOffset = cursor + 2;
  if (hashOffset + HASH_BYTES !== body.length) return `${body.length - hashOffset - HASH_BYTES} stray bytes after the hash`;
  layout.version = version;
  layout.firstSequence = first;
  layout.lastSequence = last;
  layout.timestampMicros = timestamp;
  layout.eventCount = count;
  layout.commandOffset = commandOffset;
  layout.commandLength = commandLength;
  layout.eventsOffset = eventsOffset;
  layout.eventsLength = eventsLength;
  layout.previousHashOffset = previousHashOffset;
  layout.hashOffset = hashOffset;
  return undefined;
}

/**
 * Writes a parsed body's command words to command[commandAt..+16) and its event words to
 * events[eventsAt..): a byte copy for v1, a decode for v2. Returns false if a packed word is
 * not canonical (the body was not written by a RecordWriter); the arrays are then partly written.
 */
export function readRecordWords(
  body: Uint8Array, layout: RecordLayout, command: Float64Array, commandAt: number, events: Float64Array, eventsAt: number,
): boolean {
  if (layout.version === 1) {
    copyBytes(body, layout.commandOffset, command, commandAt, COMMAND_BYTES);
    copyBytes(body, layout.eventsOffset, events, eventsAt, layout.eventsLength);
    return true;
  }
  const commandEnd = layout.commandOffset + layout.commandLength;
  if (unpackCommand(body, layout.commandOffset, commandEnd, command, commandAt, layout.timestampMicros) !== commandEnd) return false;
  const eventsEnd = layout.eventsOffset + layout.eventsLength;
  return unpackEvents(body, layout.eventsOffset, eventsEnd, events, eventsAt, layout.eventCount,
    layout.firstSequence, layout.timestampMicros, command[commandAt + 2]!) === eventsEnd;
}

/** Copies raw little-endian words from bytes into a Float64Array at a word index. */
function copyBytes(bytes: Uint8Array, from: number, words: Float64Array, wordAt: number, length: number): void {
  new Uint8Array(words.buffer, words.byteOffset + wordAt * BYTES_PER_WORD, length).set(bytes.subarray(from, from + length));
}

/** A record's sequence range and timestamp, as its header states them. */
export interface RecordHeader {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
}

/**
 * End (exclusive) of the canonical v1/v2 record that starts at bytes[start] (its header fields go
 * into `header`), looking no further
 * than `end`, or -1 if none starts there (another version, a malformed header, or one that runs
 * past `end`). Reads only the headers: how a packed row is cut into its records (row-records.ts).
 */
export function recordEnd(bytes: Uint8Array, start: number, end: number, header: RecordHeader): number {
  if (start + 2 > end || bytes[start] !== ARRAY_OF_8) return -1;
  const version = bytes[start + 1]!;
  if (version !== 1 && version !== 2) return -1;
  const body = bytes;
  cursor = start + 2;
  limit = end;
  header.firstSequence = readUnsigned(body);
  header.lastSequence = readUnsigned(body);
  header.timestampMicros = readUnsigned(body);
  if (Number.isNaN(header.firstSequence) || Number.isNaN(header.lastSequence) || Number.isNaN(header.timestampMicros)) return -1;
  const commandLength = readBinHeader(body);
  if (commandLength < 0) return -1;
  cursor += commandLength;
  const eventsLength = readBinHeader(body);
  if (eventsLength < 0) return -1;
  cursor += eventsLength;
  if (readBinHeader(body) !== HASH_BYTES) return -1;
  cursor += HASH_BYTES;
  if (readBinHeader(body) !== HASH_BYTES) return -1;
  return cursor + HASH_BYTES;
}
