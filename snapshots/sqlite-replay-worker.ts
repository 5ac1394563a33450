/**
 * One reader thread of the sqlite replay feed (started by sqlite-replay-feed.ts). Reads the
 * journal file through its own read-only connection, range by range: this reader owns the
 * sequence ranges index, index + readers, index + 2·readers, ... of RANGE_EVENTS each. Within
 * a range it verifies the hash chain (BodyChainVerifier anchored on the range's first record,
 * hashes checked a run of records per native call; the replaying thread checks the joints between ranges), packs the
 * verified records into a replay page and transfers it. It runs at most `readAhead` ranges
 * ahead of the replaying thread (credit-based: one credit per range taken).
 *
 * Rows come straight from the file's B-tree leaf pages (journal/sqlite-pages.ts: ~0.26 µs per
 * row against ~1.65 µs through better-sqlite3) when the feed found the file authoritative (no
 * write-ahead log frames; recovery checkpoints first); a page the reader does not understand
 * sends that range, and the rest, through sqlite instead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BodyChainVerifier } from './body-chain-verifier';
import { isPageFormatError, journalRows, PageFile } from '../journal/sqlite-pages';
import { RecordRow, RowCutter, splitStoredRow } from '../journal/row-records';
import { PageBuilder, pageBuffers } from './replay-page';
import { MAX_EVENTS_PER_RECORD } from '../journal/journal-record';
import type { RangeMessage, ReaderWorkerData } from './sqlite-replay-feed';

const data = workerData as ReaderWorkerData;
const port = parentPort!;
/** The sqlite connection, opened only if rows must come through sqlite (not opened when every page reads directly). */
let db: Database.Database | undefined;
let rangeRowsStatement: Database.Statement | undefined;
function rangeRows(start: number, end: number): Array<[number, number, number, Buffer]> {
  db ??= new Database(data.path, { readonly: true, fileMustExist: true });
  // From the row holding `start` (a packed row may begin before it) to the last row beginning before `end`.
  rangeRowsStatement ??= db.prepare(`SELECT first_seq, last_seq, ts, body FROM journal
    WHERE first_seq >= (SELECT coalesce(max(first_seq), 0) FROM journal WHERE first_seq <= ?) AND first_seq < ? ORDER BY first_seq`).raw();
  return rangeRowsStatement.all(start, end) as Array<[number, number, number, Buffer]>;
}
const pages = data.layout === null ? undefined : new PageFile(data.path);
let usePages = pages !== undefined;
/** The range's records, copied into page arrays as they are read (a range holds at most rangeEvents records). */
const builder = new PageBuilder(data.rangeEvents, data.rangeEvents + MAX_EVENTS_PER_RECORD);
let range = data.index;
let credit = data.readAhead;
let scheduled = false;
let finished = false;
const UNDECODABLE_WORDS = 'packed words are malformed or not canonical (not as the journal writer encodes them)';
/** Cuts the page reader's rows into records (reused: no allocation per row). */
const cutter = new RowCutter();
const stored: RecordRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: Buffer.alloc(0), bytes: Buffer.alloc(0), bodyStart: 0 };

function rangeStart(index: number): number {
  return data.firstSequence + index * data.rangeEvents;
}

/** Reads, verifies and posts one range. */
function oneRange(): void {
  const start = rangeStart(range);
  const end = Math.min(rangeStart(range + 1), data.toSequence + 1);
  let verifier = new BodyChainVerifier('first-record', true);
  let message: RangeMessage;
  builder.truncate(0);
  try {
    if (usePages) {
      try {
        readFromPages(start, end, verifier);
      } catch (error) {
        if (!isPageFormatError(error)) throw error;
        usePages = false; // sqlite stays the reference: this range again, and the rest, through it
        builder.truncate(0);
        verifier = new BodyChainVerifier('first-record', true);
      }
    }
    if (!usePages) {
      const rows = rangeRows(start, end);
      rows: for (const [firstSequence, lastSequence, timestampMicros, body] of rows) {
        for (const stored of splitStoredRow(firstSequence, lastSequence, timestampMicros, body)) {
          if (stored.firstSequence < start) continue; // the previous range's
          if (stored.firstSequence >= end) break rows; // the next range's
          const record = verifier.check(stored);
          if (record === undefined) break rows;
          if (!builder.add(record)) {
            verifier.rejectLast(record.firstSequence, UNDECODABLE_WORDS);
            break rows;
          }
        }
      }
    }
    const result = verifier.result();
    builder.truncate(verifier.verified);
    message = {
      range,
      page: builder.take(),
      firstPreviousHash: verifier.firstPreviousHash,
      lastHash: result.ok ? result.headHash : null,
      fault: result.ok ? null : result,
      error: null,
    };
  } catch (error) {
    message = { range, page: null, firstPreviousHash: verifier.firstPreviousHash, lastHash: null, fault: null, error: (error as Error).message };
  }
  port.postMessage(message, message.page === null ? [] : pageBuffers(message.page));
  range += data.readers;
  if (rangeStart(range) > data.toSequence || message.fault !== null || message.error !== null) {
    finished = true;
    db?.close();
    pages?.close();
  }
}

/** First index whose bound is >= key (bounds ascend). */
function firstAtOrAbove(bounds: number[], key: number): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (bounds[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The range's records from the leaf pages that may hold keys start..end-1, verified. Each
 * record goes into the page builder as soon as it is parsed (its bytes are in the page run
 * buffer); hashes are checked in batches (checkIn: one native call per page run, the run's
 * buffer stays valid while the next is read), and the records after a failed one are dropped.
 */
function readFromPages(start: number, end: number, verifier: BodyChainVerifier): void {
  const { leaves, upperKeys } = data.layout!;
  // One leaf more at the front: the row holding `start` may begin before it, at the end of the leaf before.
  const from = Math.max(0, firstAtOrAbove(upperKeys, start) - 1);
  const to = Math.min(leaves.length, firstAtOrAbove(upperKeys, end - 1) + 1);
  rows: for (const row of journalRows(pages!, leaves.slice(from, to))) {
    cutter.start(row.firstSequence, row.lastSequence, row.timestampMicros, row.bytes, row.bodyStart, row.bodyStart + row.body.length);
    while (cutter.next(stored)) { // the row's records (a packed row holds several)
      if (stored.firstSequence < start) continue;
      if (stored.firstSequence >= end) break rows;
      const record = verifier.checkIn(stored, stored.bytes, stored.bodyStart, stored.bodyStart + stored.body.length);
      if (record === undefined) break rows;
      if (!builder.add(record)) {
        verifier.rejectLast(record.firstSequence, UNDECODABLE_WORDS);
        break rows;
      }
    }
  }
  verifier.settle();
  builder.truncate(verifier.verified);
}

function pump(): void {
  scheduled = false;
  while (!finished && credit > 0) {
    credit--;
    oneRange();
  }
}

port.on('message', (message: { credit: number }) => {
  credit += message.credit;
  if (!scheduled && !finished) {
    scheduled = true;
    setImmediate(pump);
  }
});
if (rangeStart(range) > data.toSequence) {
  finished = true;
  db?.close();
  pages?.close();
} else {
  scheduled = true;
  setImmediate(pump);
}
