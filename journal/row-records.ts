/**
 * The records of a stored row of the embedded journal.
 *
 * A row holds one record (every row of a journal written before packed rows, and every row the
 * record-object path writes) or a run of consecutive records back to back (the journal thread
 * packs up to PACKED_ROW_BYTES per row: one SQLite row per ~25 records instead of one each, the
 * per-row cost of SQLite's insert being most of the journal thread's time at full load). The
 * row's columns describe the run: first_seq = its first record's firstSequence, last_seq = its
 * last record's lastSequence, ts = its first record's timestamp.
 *
 * splitRow cuts a row into "record rows" shaped like the one-record rows every reader was written
 * for, so their checks stay as they are: the first record carries the row's first_seq and ts
 * columns, the last the row's last_seq, the ones between their own header's values. A reader's
 * check of columns against body therefore checks the row's columns against the records at the
 * row's edges, and the chain checks everything between (sequence gaps, hashes). A body whose start
 * is no canonical v1/v2 record (a v0 record, foreign msgpack), or whose rest cannot be cut, is
 * handed on whole, for the reader's decoder to accept or name.
 */
import { recordEnd, RecordHeader } from './record-layout';

/** Bytes the journal thread packs into one row at most (a single larger record gets a row alone). */
export const PACKED_ROW_BYTES = 8192;

/** One record of a row, as a one-record row would show it; `body` = bytes[bodyStart, bodyStart + body.length). */
export interface RecordRow {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  body: Buffer;
  bytes: Buffer;
  bodyStart: number;
}

/**
 * Cuts one row at a time into record rows without a generator (the replay reader's hot loop:
 * a generator resume per record costs more than the cut). start() a row, then next(out) until
 * it returns false.
 */
export class RowCutter {
  private readonly header: RecordHeader = { firstSequence: 0, lastSequence: 0, timestampMicros: 0 };
  private lastSequence = 0;
  private timestampMicros = 0;
  private bytes: Buffer = Buffer.alloc(0);
  private rowStart = 0;
  private end = 0;
  private at = 0;
  private expected = 0;
  private done = true;

  start(firstSequence: number, lastSequence: number, timestampMicros: number, bytes: Buffer, start: number, end: number): void {
    this.lastSequence = lastSequence;
    this.timestampMicros = timestampMicros;
    this.bytes = bytes;
    this.rowStart = start;
    this.at = start;
    this.end = end;
    this.expected = firstSequence; // where the record at `at` should start
    this.done = false;
  }

  /** Fills `out` with the row's next record; false after the last. */
  next(out: RecordRow): boolean {
    if (this.done) return false;
    const { bytes, at, end, header } = this;
    const recordStop = recordEnd(bytes, at, end, header);
    const whole = recordStop < 0 || recordStop === end; // the rest is one record (or not cuttable)
    const first = at === this.rowStart || recordStop < 0;
    out.firstSequence = first ? this.expected : header.firstSequence;
    out.timestampMicros = first ? this.timestampMicros : header.timestampMicros;
    out.lastSequence = whole ? this.lastSequence : header.lastSequence;
    out.bytes = bytes;
    out.bodyStart = at;
    out.body = bytes.subarray(at, whole ? end : recordStop);
    if (whole) {
      this.done = true;
    } else {
      this.at = recordStop;
      this.expected = header.lastSequence + 1;
    }
    return true;
  }
}

/**
 * The records of the row (first_seq, last_seq, ts) whose body is bytes[start, end). Yields `out`
 * (or one reused object) again and again: read it before asking for the next.
 */
export function* splitRow(
  firstSequence: number, lastSequence: number, timestampMicros: number, bytes: Buffer, start: number, end: number,
  out: RecordRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: bytes, bytes, bodyStart: 0 },
): Generator<RecordRow> {
  const cutter = new RowCutter();
  cutter.start(firstSequence, lastSequence, timestampMicros, bytes, start, end);
  while (cutter.next(out)) yield out;
}

/** splitRow for a row read through better-sqlite3 (its body is a Buffer of its own). */
export function splitStoredRow(firstSequence: number, lastSequence: number, timestampMicros: number, body: Buffer, out?: RecordRow): Generator<RecordRow> {
  return splitRow(firstSequence, lastSequence, timestampMicros, body, 0, body.length, out);
}
