/**
 * Packed words: how record format v2 stores a record's command and event words (format v1 stored
 * each as 8 raw bytes; ~2.5x more bytes per record to write, fsync, checkpoint and hash).
 *
 * Each float64 word is stored as the difference from a base the reader can predict, zigzag
 * mapped to an unsigned integer z, in a prefix varint:
 *
 *   0x00..0xEF          z itself (0..239), one byte
 *   0xF0..0xF6  + n B   z in the next n = tag - 0xEF bytes, little-endian (1..7 bytes, minimal)
 *   0xFF        + 8 B   the word itself, raw little-endian float64 (only for a word that has
 *                       no integer form: not a safe integer, -0, or too far from its base)
 *
 * Bases: the command's timestamp word has the record's timestamp; an event's sequence word has
 * firstSequence + its index, its timestamp word the record's timestamp, its origin word the
 * command's origin (a base that is not a safe integer counts as 0); every other word has base 0.
 * The matcher's events repeat those values, so they cost one byte each. Zero words cost one byte.
 *
 * The encoding of a word is unique (canonical): the decoder refuses a longer form than needed
 * and a raw word that has an integer form, so decode + re-encode gives the stored bytes back
 * and the hash of the stored bytes is the hash of the re-encoding (journal/audit relies on it).
 * Allocation-free both ways.
 */
import { EventHeader, CommandHeader } from '../core/schema';
import { WORDS_PER_COMMAND, WORDS_PER_EVENT } from './journal-record';

/** Most bytes one word can take (raw form). */
export const PACKED_WORD_BYTES_MAX = 9;
/** Largest |word - base| stored in integer form: its zigzag value stays a safe integer. */
const MAX_DELTA = 2 ** 52 - 1;
const ONE_BYTE_LIMIT = 0xf0;
const RAW_TAG = 0xff;
const LENGTH_TAG_BASE = 0xef;
const TWO_POW_32 = 2 ** 32;
// Module constants, not property loads through the schema's exports object (V8 folds these).
const COMMAND_TIMESTAMP = CommandHeader.timestamp;
const EVENT_SEQUENCE = EventHeader.sequence;
const EVENT_TIMESTAMP = EventHeader.timestamp;
const EVENT_ORIGIN = EventHeader.origin;

/** Shared scratch for raw float64 bytes (unaligned reads and writes go through it). */
const rawView = new DataView(new ArrayBuffer(8));

/** A base as both sides use it: a base that is not a safe integer counts as 0. */
function usableBase(base: number): number {
  return Number.isSafeInteger(base) ? base : 0;
}

/** The zigzag value of word - base, or -1 if the word has no integer form. */
function zigzag(word: number, base: number): number {
  if (!Number.isSafeInteger(word) || (word === 0 && 1 / word < 0)) return -1;
  const delta = word - base;
  if (delta > MAX_DELTA || delta < -MAX_DELTA) return -1;
  return delta >= 0 ? delta * 2 : -delta * 2 - 1;
}

/** Writes one word at `at`; returns the position after it. */
function packWord(bytes: Uint8Array, at: number, word: number, base: number): number {
  // Fast path: a small integer delta (most words), in int32 arithmetic. The sum check refuses a
  // fraction the subtraction rounded away (5e-324 - 1 === -1); -0 has no integer form.
  const delta = word - base;
  const small = delta | 0;
  if (small === delta && small < 120 && small > -120 && small + base === word && !Object.is(word, -0)) {
    bytes[at] = small >= 0 ? small * 2 : -small * 2 - 1;
    return at + 1;
  }
  return packWordSlow(bytes, at, word, base);
}

function packWordSlow(bytes: Uint8Array, at: number, word: number, base: number): number {
  let z = zigzag(word, base);
  if (z < 0) {
    bytes[at] = RAW_TAG;
    rawView.setFloat64(0, word, true);
    for (let i = 0; i < 8; i++) bytes[at + 1 + i] = rawView.getUint8(i);
    return at + 9;
  }
  if (z < ONE_BYTE_LIMIT) {
    bytes[at] = z;
    return at + 1;
  }
  let n = 0;
  let p = at + 1;
  if (z < TWO_POW_32) {
    do {
      bytes[p++] = z & 0xff;
      z >>>= 8;
      n++;
    } while (z !== 0);
  } else {
    let low = z % TWO_POW_32;
    let high = (z - low) / TWO_POW_32;
    for (let i = 0; i < 4; i++) {
      bytes[p++] = low & 0xff;
      low >>>= 8;
    }
    n = 4;
    do {
      bytes[p++] = high & 0xff;
      high >>>= 8;
      n++;
    } while (high !== 0);
  }
  bytes[at] = LENGTH_TAG_BASE + n;
  return p;
}

/**
 * Per-word bases of the command and of the event being packed or unpacked: set (all their
 * non-zero entries) right before each use, so packing and unpacking share them.
 */
const commandBases = new Float64Array(WORDS_PER_COMMAND);
const eventBases = new Float64Array(WORDS_PER_EVENT);

/** Packs `count` words from `offset`, word w against bases[w]; returns the position after them. */
function packWords(bytes: Uint8Array, at: number, words: Float64Array, offset: number, count: number, bases: Float64Array): number {
  for (let w = 0; w < count; w++) at = packWord(bytes, at, words[offset + w]!, bases[w]!);
  return at;
}

/** Packs a command's WORDS_PER_COMMAND words from `offset`; returns the position after them. */
export function packCommand(bytes: Uint8Array, at: number, command: Float64Array, offset: number, timestampMicros: number): number {
  commandBases[COMMAND_TIMESTAMP] = usableBase(timestampMicros);
  return packWords(bytes, at, command, offset, WORDS_PER_COMMAND, commandBases);
}

/** Packs `count` events' words from `offset`; `origin` is the command's origin word. Returns the position after them. */
export function packEvents(
  bytes: Uint8Array, at: number, events: Float64Array, offset: number, count: number,
  firstSequence: number, timestampMicros: number, origin: number,
): number {
  eventBases[EVENT_TIMESTAMP] = usableBase(timestampMicros);
  eventBases[EVENT_ORIGIN] = usableBase(origin);
  for (let i = 0; i < count; i++) {
    eventBases[EVENT_SEQUENCE] = usableBase(firstSequence + i);
    at = packWords(bytes, at, events, offset + i * WORDS_PER_EVENT, WORDS_PER_EVENT, eventBases);
  }
  return at;
}

/** Decoder position: the next byte, or -1 once the input was found malformed or non-canonical. */
let cursor = 0;

/** Reads one word at `cursor` (bounded by `end`); sets cursor to -1 and returns 0 if malformed. */
function unpackWord(bytes: Uint8Array, end: number, base: number): number {
  const at = cursor;
  if (at >= end) return fault();
  const tag = bytes[at]!;
  let z: number;
  if (tag < ONE_BYTE_LIMIT) {
    cursor = at + 1;
    z = tag;
  } else if (tag === RAW_TAG) {
    if (at + 9 > end) return fault();
    for (let i = 0; i < 8; i++) rawView.setUint8(i, bytes[at + 1 + i]!);
    const word = rawView.getFloat64(0, true);
    if (zigzag(word, base) >= 0) return fault(); // has an integer form: not canonical
    cursor = at + 9;
    return word;
  } else {
    const n = tag - LENGTH_TAG_BASE;
    if (n > 7 || at + 1 + n > end || bytes[at + n] === 0) return fault(); // unknown tag, truncated, or a zero top byte
    z = 0;
    let scale = 1;
    for (let i = 1; i <= n; i++) {
      z += bytes[at + i]! * scale;
      scale *= 256;
    }
    if (z < ONE_BYTE_LIMIT || z > 2 * MAX_DELTA) return fault(); // one byte would do, or out of range
    cursor = at + 1 + n;
  }
  const word = base + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  return Number.isSafeInteger(word) ? word : fault(); // the encoder never stores a word outside the safe range

}

function fault(): number {
  cursor = -1;
  return 0;
}

/**
 * Reads `count` words from bytes[at, end) into out from outOffset, word w against bases[w]. The
 * one-byte form (most words) is decoded inline, the others through unpackWord. Returns the
 * position after them, or -1.
 */
function unpackWords(bytes: Uint8Array, at: number, end: number, out: Float64Array, outOffset: number, count: number, bases: Float64Array): number {
  let p = at;
  for (let w = 0; w < count; w++) {
    const tag = bytes[p]!;
    if (tag < ONE_BYTE_LIMIT && p < end) {
      // A base near the end of the safe range could overflow even a one-byte delta.
      const word = bases[w]! + ((tag >>> 1) ^ -(tag & 1));
      if (word > Number.MAX_SAFE_INTEGER || word < -Number.MAX_SAFE_INTEGER) return -1;
      out[outOffset + w] = word;
      p++;
    } else {
      cursor = p;
      out[outOffset + w] = unpackWord(bytes, end, bases[w]!);
      p = cursor;
      if (p < 0) return -1;
    }
  }
  return p;
}

/**
 * Unpacks a command from bytes[at, end) into out[outOffset..+16). Returns the position after it,
 * or -1 if the bytes are malformed or not canonical.
 */
export function unpackCommand(bytes: Uint8Array, at: number, end: number, out: Float64Array, outOffset: number, timestampMicros: number): number {
  commandBases[COMMAND_TIMESTAMP] = usableBase(timestampMicros);
  return unpackWords(bytes, at, end, out, outOffset, WORDS_PER_COMMAND, commandBases);
}

/** Unpacks `count` events from bytes[at, end) into out from outOffset; the position after them or -1 (see unpackCommand). */
export function unpackEvents(
  bytes: Uint8Array, at: number, end: number, out: Float64Array, outOffset: number, count: number,
  firstSequence: number, timestampMicros: number, origin: number,
): number {
  eventBases[EVENT_TIMESTAMP] = usableBase(timestampMicros);
  eventBases[EVENT_ORIGIN] = usableBase(origin);
  let p = at;
  for (let i = 0; i < count && p >= 0; i++) {
    eventBases[EVENT_SEQUENCE] = usableBase(firstSequence + i);
    p = unpackWords(bytes, p, end, out, outOffset + i * WORDS_PER_EVENT, WORDS_PER_EVENT, eventBases);
  }
  return p;
}

/**
 * Counts the packed words in bytes[at, end) by their tags alone (no bases, no values): the
 * structural check of a reader that decodes later. -1 if a word is cut off or a tag unknown.
 */
export function packedWordCount(bytes: Uint8Array, at: number, end: number): number {
  let words = 0;
  while (at < end) {
    const tag = bytes[at]!;
    if (tag < ONE_BYTE_LIMIT) at += 1;
    else if (tag === RAW_TAG) at += 9;
    else if (tag - LENGTH_TAG_BASE <= 7) at += 1 + tag - LENGTH_TAG_BASE;
    else return -1;
    words++;
  }
  return at === end ? words : -1;
}
