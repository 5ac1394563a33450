/**
 * The auditor's per-record check: one streaming chain state that accepts either the stored
 * bytes of a record (sqlite rows: the fast path, no msgpack decoder, no re-encoding) or an
 * already decoded record (archives, EventStoreDB, format version 0).
 *
 * Checks, in the order of journal/hash-chain.ts's ChainVerifier (the first failure is final):
 *   BAD_FORMAT              undecodable or malformed (sequence = the next expected one)
 *   SEQUENCE_GAP            the record does not start at the expected sequence
 *   PREVIOUS_HASH_MISMATCH  previousHash is not the preceding record's hash
 *   HASH_MISMATCH           SHA-256(previousHash || body without its hash field) differs
 * then the auditor's extra checks of a record whose hash is right (written wrong, not altered):
 *   BAD_FORMAT              the row's index columns disagree with the body
 *   BAD_CONTENT             the command / events break the record contract (unknown codes,
 *                           event sequences not firstSequence..lastSequence, timestamps
 *                           not the command's)
 *
 * The fast path accepts only the canonical v1 encoding (the bytes the journal writer and
 * msgpackr produce): smallest integer encodings, bin8/16/32 by length, exact total length.
 * Hashing the stored bytes of a canonical body equals hashing its re-encoding, so the verdict
 * is the one ChainVerifier gives, only stricter about non-canonical bytes.
 */
import { commandByCode, eventByCode } from '../../core/schema';
import { ChainAnchor, ChainFaultReason, recordHash } from '../hash-chain';
import {
  BYTES_PER_WORD, HASH_BYTES, JournalRecord, MAX_EVENTS_PER_RECORD, recordShapeFault, WORDS_PER_COMMAND, WORDS_PER_EVENT,
} from '../journal-record';
import { decodeRecord, encodeRecord, HASH_FIELD_BYTES } from '../record-codec';
import { ChainLinkHasher } from '../chain-hasher';

export type AuditFaultReason = ChainFaultReason | 'BAD_CONTENT';

export interface AuditFault {
  sequence: number;
  reason: AuditFaultReason;
  detail: string;
}

/** The row's index columns (sqlite), checked against the body once its hash is right. */
export interface RowColumns {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
}

const COMMAND_BYTES = WORDS_PER_COMMAND * BYTES_PER_WORD;
const EVENT_BYTES = WORDS_PER_EVENT * BYTES_PER_WORD;
const TWO_POW_32 = 2 ** 32;


function equalBytes(left: Uint8Array, leftStart: number, right: Uint8Array, rightStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (left[leftStart + i] !== right[rightStart + i]) return false;
  return true;
}

/** Offsets of a canonical v1 body's fields; filled by parseV1 (no allocation). */
export interface V1Layout {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  commandOffset: number;
  eventsOffset: number;
  eventCount: number;
  previousHashOffset: number;
  hashOffset: number;
}

export function newLayout(): V1Layout {
  return { firstSequence: 0, lastSequence: 0, timestampMicros: 0, commandOffset: 0, eventsOffset: 0, eventCount: 0, previousHashOffset: 0, hashOffset: 0 };
}

let cursor = 0;

const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const float64Scratch = new DataView(new ArrayBuffer(8));

/** Reads a canonical msgpack unsigned integer at `cursor`; NaN if absent or not canonical. */
function readUnsigned(body: Uint8Array): number {
  const at = cursor;
  if (at >= body.length) return Number.NaN;
  const tag = body[at]!;
  if (tag < 0x80) {
    cursor = at + 1;
    return tag;
  }
  let value: number;
  let min: number;
  switch (tag) {
    case 0xcc: if (at + 2 > body.length) return Number.NaN; value = body[at + 1]!; min = 0x80; cursor = at + 2; break;
    case 0xcd: if (at + 3 > body.length) return Number.NaN; value = be16(body, at + 1); min = 0x100; cursor = at + 3; break;
    case 0xce: if (at + 5 > body.length) return Number.NaN; value = be32(body, at + 1); min = 0x10000; cursor = at + 5; break;
    case 0xcb:
      if (at + 9 > body.length) return Number.NaN;
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
  if (at + 2 > body.length) return -1;
  const tag = body[at]!;
  let length: number;
  if (tag === 0xc4) {
    length = body[at + 1]!;
    cursor = at + 2;
  } else if (tag === 0xc5) {
    if (at + 3 > body.length) return -1;
    length = be16(body, at + 1);
    if (length < 0x100) return -1;
    cursor = at + 3;
  } else if (tag === 0xc6) {
    if (at + 5 > body.length) return -1;
    length = be32(body, at + 1);
    if (length < 0x10000) return -1;
    cursor = at + 5;
  } else {
    return -1;
  }
  if (cursor + length > body.length) return -1;
  return length;
}

/**
 * Parses a canonical v1 body into `layout` (no allocation). Returns undefined on success, else
 * why it is not one (the caller decides whether another version's decoder should try).
 */
export function parseV1(body: Uint8Array, layout: V1Layout): string | undefined {
  if (body.length < 2 || body[0] !== 0x98) return 'not an array of 8 fields';
  if (body[1] !== 1) return `record format version ${body[1]} is not 1`;
  cursor = 2;
  const first = readUnsigned(body);
  const last = readUnsigned(body);
  const timestamp = readUnsigned(body);
  if (Number.isNaN(first) || Number.isNaN(last) || Number.isNaN(timestamp)) return 'sequence or timestamp field is not a canonical unsigned integer';
  if (first < 1) return `firstSequence ${first} is not positive`;
  if (last < first) return `lastSequence ${last} is before firstSequence ${first}`;
  const count = last - first + 1;
  if (count > MAX_EVENTS_PER_RECORD) return `${count} events exceed MAX_EVENTS_PER_RECORD ${MAX_EVENTS_PER_RECORD}`;
  if (readBinHeader(body) !== COMMAND_BYTES) return `command is not a bin of ${COMMAND_BYTES} bytes`;
  const commandOffset = cursor;
  cursor += COMMAND_BYTES;
  const eventBytes = readBinHeader(body);
  if (eventBytes !== count * EVENT_BYTES) return `events are not a bin of ${count} × ${EVENT_BYTES} bytes`;
  const eventsOffset = cursor;
  cursor += eventBytes;
  if (readBinHeader(body) !== HASH_BYTES) return `previousHash is not a bin of ${HASH_BYTES} bytes`;
  const previousHashOffset = cursor;
  cursor += HASH_BYTES;
  if (body[cursor] !== 0xc4 || body[cursor + 1] !== HASH_BYTES) return `hash is not a bin8 of ${HASH_BYTES} bytes`;
  const hashOffset = cursor + 2;
  if (hashOffset + HASH_BYTES !== body.length) return `${body.length - hashOffset - HASH_BYTES} stray bytes after the hash`;
  layout.firstSequence = first;
  layout.lastSequence = last;
  layout.timestampMicros = timestamp;
  layout.commandOffset = commandOffset;
  layout.eventsOffset = eventsOffset;
  layout.eventCount = count;
  layout.previousHashOffset = previousHashOffset;
  layout.hashOffset = hashOffset;
  return undefined;
}

/** contentFault on a stored body: reads the few words it needs in place (little-endian, unaligned). */
function bodyContentFault(view: DataView, base: number, body: Uint8Array, layout: V1Layout): { index: number; detail: string } | undefined {
  const c = base + layout.commandOffset;
  const type = view.getFloat64(c, true);
  const timestampMicros = layout.timestampMicros;
  const first = layout.firstSequence;
  if (type === 0) {
    for (let b = 0; b < COMMAND_BYTES; b++) if (body[layout.commandOffset + b] !== 0) return { index: -1, detail: `continuation command has a non-zero word ${b >> 3}` };
  } else {
    if (commandByCode[type] === undefined) return { index: -1, detail: `unknown command type ${type}` };
    const commandTime = view.getFloat64(c + 8, true);
    if (commandTime !== timestampMicros) return { index: -1, detail: `command timestamp ${commandTime} differs from the record's ${timestampMicros}` };
  }
  const count = layout.eventCount;
  let o = base + layout.eventsOffset;
  for (let i = 0; i < count; i++, o += EVENT_BYTES) {
    const eventType = view.getFloat64(o, true);
    if (eventByCode[eventType] === undefined) return { index: i, detail: `event ${first + i} has unknown type ${eventType}` };
    const sequence = view.getFloat64(o + 8, true);
    if (sequence !== first + i) return { index: i, detail: `event ${i} of the record carries sequence ${sequence}, expected ${first + i}` };
    const time = view.getFloat64(o + 16, true);
    if (time !== timestampMicros) return { index: i, detail: `event ${first + i} timestamp ${time} differs from the command's ${timestampMicros}` };
  }
  return undefined;
}

/**
 * Why a record's command and events break the record contract, or undefined. `events` holds
 * at least `count` events. A command of type 0 is a continuation (all 16 words zero).
 */
export function contentFault(
  command: Float64Array,
  events: Float64Array,
  count: number,
  firstSequence: number,
  timestampMicros: number,
): { index: number; detail: string } | undefined {
  const type = command[0]!;
  if (type === 0) {
    for (let w = 1; w < WORDS_PER_COMMAND; w++) if (command[w] !== 0) return { index: -1, detail: `continuation command has word ${w} = ${command[w]}` };
  } else {
    if (commandByCode[type] === undefined) return { index: -1, detail: `unknown command type ${type}` };
    if (command[1] !== timestampMicros) return { index: -1, detail: `command timestamp ${command[1]} differs from the record's ${timestampMicros}` };
  }
  for (let i = 0; i < count; i++) {
    const o = i * WORDS_PER_EVENT;
    const eventType = events[o]!;
    if (eventByCode[eventType] === undefined) return { index: i, detail: `event ${firstSequence + i} has unknown type ${eventType}` };
    if (events[o + 1] !== firstSequence + i) return { index: i, detail: `event ${i} of the record carries sequence ${events[o + 1]}, expected ${firstSequence + i}` };
    if (events[o + 2] !== timestampMicros) return { index: i, detail: `event ${firstSequence + i} timestamp ${events[o + 2]} differs from the command's ${timestampMicros}` };
  }
  return undefined;
}

/**
 * The chain state of one verified stretch. With an anchor, the first record must start at
 * anchor.firstSequence and link to anchor.previousHash. Without one (a worker's chunk, whose
 * predecessor another worker checks), the first record's sequence and previousHash are
 * adopted and reported (`firstSequence`, `firstPreviousHash`) for the caller to check the seam;
 * a fault found in that first record is flagged `atFirst`.
 */
export class RecordChecker {
  private expected: number;
  private readonly head = Buffer.alloc(HASH_BYTES);
  private adopt: boolean;
  private readonly link = new ChainLinkHasher();
  private view: DataView | undefined;
  private viewBuffer: ArrayBufferLike | undefined;
  private readonly layout = newLayout();
  records = 0;
  events = 0;
  fault: (AuditFault & { atFirst: boolean }) | undefined;
  firstSequence = 0;
  firstPreviousHash: Uint8Array | undefined;
  /** Whether the adopted first record was readable (its sequence and previousHash are known). */
  firstReadable = false;

  constructor(anchor: ChainAnchor | null) {
    this.adopt = anchor === null;
    this.expected = anchor?.firstSequence ?? 0;
    if (anchor !== null) this.head.set(anchor.previousHash);
  }

  get lastSequence(): number {
    return this.expected - 1;
  }

  headHash(): Uint8Array {
    return new Uint8Array(this.head);
  }

  private fail(sequence: number, reason: AuditFaultReason, detail: string): false {
    this.fault ??= { sequence, reason, detail, atFirst: this.records === 0 };
    return false;
  }

  /** Checks one stored body (sqlite row or archive entry). Returns false once the chain is broken. */
  checkBody(stored: Uint8Array, columns?: RowColumns): boolean {
    if (this.fault !== undefined) return false;
    const body = Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const layout = this.layout;
    const why = parseV1(body, layout);
    if (why !== undefined) {
      if (body.length >= 2 && body[0] === 0x98 && body[1] === 0) return this.checkVersion0(body, columns);
      return this.fail(this.expected, 'BAD_FORMAT', why);
    }
    const first = layout.firstSequence;
    const head = this.head;
    if (this.adopt) this.adoptFirst(first, body.subarray(layout.previousHashOffset, layout.previousHashOffset + HASH_BYTES));
    if (first !== this.expected) return this.fail(this.expected, 'SEQUENCE_GAP', `expected ${this.expected}, found a record at ${first}`);
    if (!equalBytes(body, layout.previousHashOffset, head, 0, HASH_BYTES)) {
      return this.fail(first, 'PREVIOUS_HASH_MISMATCH', 'previousHash differs from the preceding record hash');
    }
    const digest = this.digest(body);
    if (!equalBytes(digest, 0, body, layout.hashOffset, HASH_BYTES)) return this.fail(first, 'HASH_MISMATCH', 'stored hash differs from the recomputed one');
    if (columns !== undefined && !this.columnsAgree(columns, first, layout.lastSequence, layout.timestampMicros)) return false;
    if (body.buffer !== this.viewBuffer) {
      this.viewBuffer = body.buffer;
      this.view = new DataView(body.buffer);
    }
    const content = bodyContentFault(this.view!, body.byteOffset, body, layout);
    if (content !== undefined) return this.fail(content.index < 0 ? first : first + content.index, 'BAD_CONTENT', content.detail);
    for (let i = 0, h = layout.hashOffset; i < HASH_BYTES; i++) head[i] = body[h + i]!;
    this.expected = layout.lastSequence + 1;
    this.records++;
    this.events += layout.eventCount;
    return true;
  }

  /** SHA-256(head || body without its hash field), in reused memory (chain-hasher.ts). */
  private digest(body: Buffer): Uint8Array {
    this.link.setHead(this.head);
    return this.link.digest(body, 0, body.length - HASH_FIELD_BYTES);
  }

  /** Checks a decoded record (any version), hashing its re-encoding as ChainVerifier does. */
  checkRecord(record: JournalRecord, columns?: RowColumns): boolean {
    if (this.fault !== undefined) return false;
    const shape = recordShapeFault(record);
    if (shape !== undefined) return this.fail(this.expected, 'BAD_FORMAT', shape);
    if (this.adopt) this.adoptFirst(record.firstSequence, record.previousHash);
    if (record.firstSequence !== this.expected) {
      return this.fail(this.expected, 'SEQUENCE_GAP', `expected ${this.expected}, found a record at ${record.firstSequence}`);
    }
    if (!equalBytes(record.previousHash, 0, this.head, 0, HASH_BYTES)) {
      return this.fail(record.firstSequence, 'PREVIOUS_HASH_MISMATCH', 'previousHash differs from the preceding record hash');
    }
    let computed: Uint8Array;
    try {
      computed = recordHash(this.head, encodeRecord(record));
    } catch (error) {
      return this.fail(record.firstSequence, 'BAD_FORMAT', (error as Error).message);
    }
    if (!equalBytes(computed, 0, record.hash, 0, HASH_BYTES)) return this.fail(record.firstSequence, 'HASH_MISMATCH', 'stored hash differs from the recomputed one');
    if (columns !== undefined && !this.columnsAgree(columns, record.firstSequence, record.lastSequence, record.timestampMicros)) return false;
    const count = record.lastSequence - record.firstSequence + 1;
    const content = contentFault(record.command, record.events, count, record.firstSequence, record.timestampMicros);
    if (content !== undefined) return this.fail(content.index < 0 ? record.firstSequence : record.firstSequence + content.index, 'BAD_CONTENT', content.detail);
    return this.advance(record.hash, record.lastSequence, count);
  }

  /** A v0 body: decode with the journal's own decoder, then the decoded-record checks. */
  private checkVersion0(body: Uint8Array, columns?: RowColumns): boolean {
    let record: JournalRecord;
    try {
      record = decodeRecord(body);
    } catch (error) {
      return this.fail(this.expected, 'BAD_FORMAT', (error as Error).message);
    }
    return this.checkRecord(record, columns);
  }

  /** Records a fault found outside the checker (an unreadable row, a source error). */
  failExternal(sequence: number | undefined, reason: AuditFaultReason, detail: string): void {
    this.fail(sequence ?? this.expected, reason, detail);
  }

  private adoptFirst(firstSequence: number, previousHash: Uint8Array): void {
    this.adopt = false;
    this.expected = firstSequence;
    this.firstSequence = firstSequence;
    this.firstPreviousHash = new Uint8Array(previousHash);
    this.firstReadable = true;
    this.head.set(previousHash);
  }

  private columnsAgree(columns: RowColumns, first: number, last: number, timestamp: number): boolean {
    if (columns.firstSequence === first && columns.lastSequence === last && columns.timestampMicros === timestamp) return true;
    this.fail(first, 'BAD_FORMAT',
      `row columns (${columns.firstSequence}, ${columns.lastSequence}, ts ${columns.timestampMicros}) disagree with its body (${first}, ${last}, ts ${timestamp})`);
    return false;
  }

  private advance(hash: Uint8Array, lastSequence: number, count: number): true {
    this.head.set(hash);
    this.expected = lastSequence + 1;
    this.records++;
    this.events += count;
    return true;
  }
}
