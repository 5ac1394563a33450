/**
 * A replay page: a run of consecutive, already chain-verified journal records laid out in
 * flat typed arrays, so the replaying thread touches no objects and allocates nothing per
 * record, and a page moves between threads as a handful of transferred ArrayBuffers.
 *
 *   record i:  firstSequence[i], lastSequence[i], timestamp[i]
 *              command words   commands[i*16 .. i*16+16)
 *              event words     events[eventStart[i]*16 .. eventStart[i+1]*16)
 *
 * Pages are assembled either from decoded JournalRecords (any Journal backend) or straight
 * from stored v1/v2 record bodies (parseRecordBody: journal/record-layout.ts parses the exact
 * bytes the journal's RecordWriter writes; anything else goes through the journal's own decoder).
 */
import { decodeRecord } from '../journal/record-codec';
import { parseRecordLayout, readRecordWords, RecordLayout } from '../journal/record-layout';
import { journalError } from '../journal/journal';
import {
  BYTES_PER_WORD, HASH_BYTES, JournalRecord, WORDS_PER_COMMAND, WORDS_PER_EVENT,
} from '../journal/journal-record';

/** Records per page. */
export const PAGE_RECORDS = 4096;
/** Events per page (bounds a page to ~8 MiB of event words); a single larger record still gets its own page. */
export const PAGE_EVENTS_MAX = 1 << 16;

const COMMAND_BYTES = WORDS_PER_COMMAND * BYTES_PER_WORD;
const EVENT_BYTES = WORDS_PER_EVENT * BYTES_PER_WORD;

export interface ReplayPage {
  count: number;
  firstSequence: Float64Array;
  lastSequence: Float64Array;
  timestamp: Float64Array;
  commands: Float64Array;
  events: Float64Array;
  /** count + 1 entries: event index where each record's events start. */
  eventStart: Float64Array;
}

/** The buffers to list for transfer when posting a page. */
export function pageBuffers(page: ReplayPage): ArrayBuffer[] {
  return [page.firstSequence, page.lastSequence, page.timestamp, page.commands, page.events, page.eventStart].map((a) => a.buffer as ArrayBuffer);
}

/** Allocates a page for `count` records holding `events` events in all. */
export function allocatePage(count: number, events: number): ReplayPage {
  return {
    count,
    firstSequence: new Float64Array(count),
    lastSequence: new Float64Array(count),
    timestamp: new Float64Array(count),
    commands: new Float64Array(count * WORDS_PER_COMMAND),
    events: new Float64Array(events * WORDS_PER_EVENT),
    eventStart: new Float64Array(count + 1),
  };
}

/** A page holding decoded records (copies their words). */
export function pageFromRecords(records: readonly JournalRecord[]): ReplayPage {
  let events = 0;
  for (const r of records) events += r.lastSequence - r.firstSequence + 1;
  const page = allocatePage(records.length, events);
  let at = 0;
  records.forEach((r, i) => {
    page.firstSequence[i] = r.firstSequence;
    page.lastSequence[i] = r.lastSequence;
    page.timestamp[i] = r.timestampMicros;
    page.commands.set(r.command, i * WORDS_PER_COMMAND);
    page.eventStart[i] = at;
    page.events.set(r.events, at * WORDS_PER_EVENT);
    at += r.lastSequence - r.firstSequence + 1;
  });
  page.eventStart[records.length] = at;
  return page;
}

/**
 * Where the fields of one stored record lie in its body (journal/record-layout.ts): offsets, not
 * views (a Buffer view costs more than the parse). For a body that is not canonical v1/v2,
 * `bytes` is a synthetic buffer holding the decoded fields as v1 raw words and the offsets point
 * into it; `stored` is always the body as stored (what the hash covers).
 */
export interface RecordBody extends RecordLayout {
  stored: Uint8Array;
  bytes: Uint8Array;
}

function wordBytes(words: Float64Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/**
 * Parses a stored record body. v1/v2 bodies as the journal writes them are read in place
 * (no copy, no msgpack objects); anything else (v0, non-canonical msgpack) goes through
 * the journal's decodeRecord. Throws (JOURNAL_CORRUPT or Error) when the body is malformed.
 * `countWords` false: a v2 body's packed words are checked only when PageBuilder.add decodes
 * them (add returns false), for a reader that handles that (the replay reader).
 */
export function parseRecordBody(stored: Uint8Array, countWords = true): RecordBody {
  const body: RecordBody = {
    stored, bytes: stored, version: 0, firstSequence: 0, lastSequence: 0, timestampMicros: 0, eventCount: 0,
    commandOffset: 0, commandLength: 0, eventsOffset: 0, eventsLength: 0, previousHashOffset: 0, hashOffset: 0,
  };
  return parseRecordLayout(stored, body, countWords) === undefined ? body : fromDecoded(stored, decodeRecord(stored));
}

function fromDecoded(stored: Uint8Array, record: JournalRecord): RecordBody {
  const eventsLength = record.events.byteLength;
  const bytes = new Uint8Array(COMMAND_BYTES + eventsLength + 2 * HASH_BYTES);
  bytes.set(wordBytes(record.command), 0);
  bytes.set(wordBytes(record.events), COMMAND_BYTES);
  bytes.set(record.previousHash, COMMAND_BYTES + eventsLength);
  bytes.set(record.hash, COMMAND_BYTES + eventsLength + HASH_BYTES);
  return {
    stored,
    bytes,
    version: 1,
    firstSequence: record.firstSequence,
    lastSequence: record.lastSequence,
    timestampMicros: record.timestampMicros,
    eventCount: record.lastSequence - record.firstSequence + 1,
    commandOffset: 0,
    commandLength: COMMAND_BYTES,
    eventsOffset: COMMAND_BYTES,
    eventsLength,
    previousHashOffset: COMMAND_BYTES + eventsLength,
    hashOffset: COMMAND_BYTES + eventsLength + HASH_BYTES,
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Builds pages record by record in reused scratch arrays (capacity fixed at construction),
 * then take() copies the filled part into an exact-size page. A reader appends a record as soon
 * as it is parsed, while its bytes are at hand, and may drop provisional records at the end
 * (truncate: hashes checked in batches after the records were added).
 */
export class PageBuilder {
  private readonly scratch: ReplayPage;
  private readonly commandBytes: Buffer;
  private readonly eventBytes: Buffer;
  private events = 0;
  count = 0;

  constructor(readonly maxRecords: number, readonly maxEvents: number) {
    this.scratch = allocatePage(maxRecords, maxEvents);
    this.commandBytes = asBuffer(wordBytes(this.scratch.commands));
    this.eventBytes = asBuffer(wordBytes(this.scratch.events));
  }

  /**
   * Appends a parsed record; throws RangeError beyond the capacity. Returns false, adding
   * nothing, if a v2 body's packed words do not decode to its events (not canonical, or a wrong
   * count that a parse without countWords let through).
   */
  add(r: RecordBody): boolean {
    const i = this.count;
    const events = r.lastSequence - r.firstSequence + 1;
    if (i === this.maxRecords || this.events + events > this.maxEvents) {
      throw new RangeError(`page builder full (${this.maxRecords} records, ${this.maxEvents} events)`);
    }
    const page = this.scratch;
    const source = asBuffer(r.bytes);
    page.firstSequence[i] = r.firstSequence;
    page.lastSequence[i] = r.lastSequence;
    page.timestamp[i] = r.timestampMicros;
    page.eventStart[i] = this.events;
    if (r.version === 1) {
      source.copy(this.commandBytes, i * COMMAND_BYTES, r.commandOffset, r.commandOffset + COMMAND_BYTES);
      source.copy(this.eventBytes, this.events * EVENT_BYTES, r.eventsOffset, r.eventsOffset + r.eventsLength);
    } else if (!readRecordWords(source, r, page.commands, i * WORDS_PER_COMMAND, page.events, this.events * WORDS_PER_EVENT)) {
      return false;
    }
    this.events += events;
    this.count = i + 1;
    return true;
  }

  /** Keeps only the first `count` records. */
  truncate(count: number): void {
    if (count >= this.count) return;
    this.count = count;
    this.events = this.scratch.eventStart[count]!;
  }

  /** The records added since the last take(), as an exact-size page (null if none); resets the builder. */
  take(): ReplayPage | null {
    const count = this.count;
    if (count === 0) return null;
    const s = this.scratch;
    s.eventStart[count] = this.events;
    const page: ReplayPage = {
      count,
      firstSequence: s.firstSequence.slice(0, count),
      lastSequence: s.lastSequence.slice(0, count),
      timestamp: s.timestamp.slice(0, count),
      commands: s.commands.slice(0, count * WORDS_PER_COMMAND),
      events: s.events.slice(0, this.events * WORDS_PER_EVENT),
      eventStart: s.eventStart.slice(0, count + 1),
    };
    this.count = 0;
    this.events = 0;
    return page;
  }
}


/** Copies parsed bodies into one page. */
export function pageFromBodies(bodies: readonly RecordBody[]): ReplayPage {
  let events = 0;
  for (const r of bodies) events += r.lastSequence - r.firstSequence + 1;
  const builder = new PageBuilder(bodies.length, events);
  for (const r of bodies) {
    if (!builder.add(r)) throw journalError('JOURNAL_CORRUPT', `record at ${r.firstSequence}: packed words do not decode to its events`, { sequence: r.firstSequence });
  }
  return builder.take() ?? allocatePage(0, 0);
}
