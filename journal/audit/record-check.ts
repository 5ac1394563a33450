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
 * The fast path accepts only the canonical v1 / v2 encoding (the bytes the journal writer and
 * msgpackr produce: journal/record-layout.ts; packed words as word-pack.ts writes them).
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
import { newRecordLayout, parseRecordLayout, readRecordWords, RecordLayout } from '../record-layout';

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


function equalBytes(left: Uint8Array, leftStart: number, right: Uint8Array, rightStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (left[leftStart + i] !== right[rightStart + i]) return false;
  return true;
}

/** contentFault on a stored body: reads the few words it needs in place (little-endian, unaligned). */
function bodyContentFault(view: DataView, base: number, body: Uint8Array, layout: RecordLayout): { index: number; detail: string } | undefined {
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
  private readonly layout = newRecordLayout();
  /** Decoded words of a v2 body (its content check reads words, not bytes). */
  private readonly commandWords = new Float64Array(WORDS_PER_COMMAND);
  private eventWords = new Float64Array(64 * WORDS_PER_EVENT);
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
    // v2 words are counted by decoding them, right here: a body the decoder refuses is BAD_FORMAT
    // before any chain check, as in ChainVerifier (which decodes first).
    const why = parseRecordLayout(body, layout, false);
    if (why !== undefined) {
      if (body.length >= 2 && body[0] === 0x98 && body[1] === 0) return this.checkVersion0(body, columns);
      return this.fail(this.expected, 'BAD_FORMAT', why);
    }
    if (layout.version === 2 && !this.decodeWords(body)) {
      return this.fail(this.expected, 'BAD_FORMAT', 'packed words are malformed or not canonical (not as a journal writer encodes them)');
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
    const content = layout.version === 1 ? this.rawContentFault(body)
      : contentFault(this.commandWords, this.eventWords, layout.eventCount, layout.firstSequence, layout.timestampMicros);
    if (content !== undefined) return this.fail(content.index < 0 ? first : first + content.index, 'BAD_CONTENT', content.detail);
    for (let i = 0, h = layout.hashOffset; i < HASH_BYTES; i++) head[i] = body[h + i]!;
    this.expected = layout.lastSequence + 1;
    this.records++;
    this.events += layout.eventCount;
    return true;
  }

  /** Content check of a v1 body: reads the words it needs in place. */
  private rawContentFault(body: Buffer): { index: number; detail: string } | undefined {
    if (body.buffer !== this.viewBuffer) {
      this.viewBuffer = body.buffer;
      this.view = new DataView(body.buffer);
    }
    return bodyContentFault(this.view!, body.byteOffset, body, this.layout);
  }

  /** Decodes a v2 body's words into commandWords / eventWords; false if they are malformed or not canonical. */
  private decodeWords(body: Buffer): boolean {
    if (this.eventWords.length < this.layout.eventCount * WORDS_PER_EVENT) this.eventWords = new Float64Array(MAX_EVENTS_PER_RECORD * WORDS_PER_EVENT);
    return readRecordWords(body, this.layout, this.commandWords, 0, this.eventWords, 0);
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
